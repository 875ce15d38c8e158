# Vars plugin: group_vars/ and host_vars/ as Ansible's host_group_vars loads them, with one rule
# more. These files arrive in pull requests, and Ansible evaluates the templates in them on the
# controller (a lookup('pipe', ...) runs a command there). Here a template in a variable file
# may only name another variable ("{{ idcpilot_estate }}/x"): no filter, call, lookup, block or
# comment. Anything else stops Ansible with the file and the variable named.
# Enabled by the repository's ansible.cfg in place of host_group_vars.
from __future__ import annotations

DOCUMENTATION = """
    name: idcpilot_vars
    short_description: group_vars and host_vars whose templates may only name variables
    requirements:
        - Enabled in configuration (vars_plugins_enabled), in place of host_group_vars
    description:
        - Loads group_vars/ and host_vars/ exactly like host_group_vars.
        - Refuses any template in them that does more than name a variable, so nothing in a
          variable file from a pull request runs on the controller.
    options:
      stage:
        ini:
          - key: stage
            section: vars_idcpilot_vars
        env:
          - name: ANSIBLE_VARS_PLUGIN_STAGE
      _valid_extensions:
        default: [".yml", ".yaml", ".json"]
        description:
          - "Check all of these extensions when looking for 'variable' files."
        env:
          - name: ANSIBLE_YAML_FILENAME_EXT
        ini:
          - key: yaml_valid_extensions
            section: defaults
        type: list
        elements: string
    extends_documentation_fragment:
      - vars_plugin_staging
"""

import re

from ansible.errors import AnsibleParserError
from ansible.plugins.vars.host_group_vars import VarsModule as HostGroupVars

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)
_NAME = re.compile(r"^\s*[A-Za-z_][A-Za-z0-9_]*\s*$")
_EXCERPT = 60


def template_problems(value, where):
    """(where, why) for every template in ``value`` that does more than name a variable."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from template_problems(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            yield from template_problems(item, f"{where}[{index}]")
    elif isinstance(value, str):
        if "{%" in value or "{#" in value:
            yield where, "template blocks and comments ('{%', '{#') are not allowed in variable files"
        for expression in _EXPRESSION.findall(value):
            if not _NAME.match(expression):
                shown = expression.strip()
                shown = shown if len(shown) <= _EXCERPT else shown[: _EXCERPT - 1] + "…"
                yield where, f"the template {{{{ {shown} }}}} does more than name a variable (no filters, calls or lookups here)"
        rest = _EXPRESSION.sub("", value)
        if "{{" in rest:
            yield where, "an unclosed '{{' is not allowed in variable files"


class VarsModule(HostGroupVars):

    def load_found_files(self, loader, data, found_files):
        for found in found_files:
            new_data = loader.load_from_file(found, cache='all', unsafe=True, trusted_as_template=True)
            problems = list(template_problems(new_data or {}, ""))
            if problems:
                raise AnsibleParserError("\n".join(f"{found}: {where}: {why}" for where, why in problems))
        return super().load_found_files(loader, data, found_files)
