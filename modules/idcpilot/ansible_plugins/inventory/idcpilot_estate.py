# Ansible inventory plugin: reads inventories/<env>/estate.yaml through idcpilot.
# Enabled by the repository's ansible.cfg, so plain `ansible-inventory -i inventories/<env>`
# shows the estate. It is a thin adapter: the inventory itself is built by idcpilot.inventory.
from __future__ import annotations

DOCUMENTATION = r"""
name: idcpilot_estate
short_description: Hosts, groups and variables from an idcpilot estate catalogue
description:
  - Reads C(estate.yaml) (format idcpilot/v1) and the IPAM lock beside it.
  - Groups hosts by site, tier, region, data domain, OS family, role, cluster and gateway.
  - Host variables carry the allocated addresses and everything the roles need.
  - "Every value is data, never a template (Ansible's unsafe values): the catalogue comes from pull requests,
    so nothing in it is evaluated, looked up or run on the controller."
options: {}
"""

import os

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin
from ansible.utils.unsafe_proxy import wrap_var

# ansible-core >= 2.19 (data tagging) renders only strings trusted as templates, and inventory
# values are untrusted unless the plugin says otherwise: plain values stay plain data there
# (and print as plain JSON). Older cores render every string unless it is wrapped as unsafe.
_DATA_TAGGING = hasattr(BaseInventoryPlugin, "trusted_by_default")


def untrusted(value):
    """A catalogue value as Ansible data that is never evaluated as a template."""
    return value if _DATA_TAGGING else wrap_var(value)


class InventoryModule(BaseInventoryPlugin):
    NAME = "idcpilot_estate"
    # The catalogue is untrusted input (it comes from pull requests): its values never become templates.
    trusted_by_default = False

    def verify_file(self, path):
        return os.path.basename(path) == "estate.yaml" and super().verify_file(path)

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        from idcpilot import catalogue, ipam
        from idcpilot import inventory as build_inventory
        from idcpilot.errors import UserInputError

        try:
            cat = catalogue.load(path)
            data = build_inventory.build(cat, ipam.plan(cat))
        except UserInputError as exc:
            raise AnsibleParserError(str(exc)) from None
        for key, value in data["all"]["vars"].items():
            self.inventory.set_variable("all", key, untrusted(value))
        for group in data["all"]["children"]:
            self.inventory.add_group(group)
            for host in data[group].get("hosts", []):
                self.inventory.add_host(host, group=group)
        for host, hostvars in data["_meta"]["hostvars"].items():
            for key, value in hostvars.items():
                self.inventory.set_variable(host, key, untrusted(value))
