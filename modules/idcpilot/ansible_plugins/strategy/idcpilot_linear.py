# Strategy plugin: Ansible's linear strategy run through Mitogen.
#
# Stock Ansible sends every task to every host as a fresh AnsiballZ zip, and the host's Python
# compiles ansible.module_utils from source each time (zipimport keeps no bytecode): measured on
# the lab, 0.37 CPU-seconds per module call on the host, 2.46 s per task across 9 hosts on 2
# cores. Mitogen keeps one interpreter per host (and per become user) for the run, with the
# module code imported once: 0.67 s per task on the same hosts, same tasks (bench/bench_lab.py
# measures it against stock linear in the same run). Task order, failure handling, check mode
# and become are linear's; only how a module reaches the host changes.
#
# Enabled by the repository's ansible.cfg (strategy = idcpilot_linear); `strategy = linear`
# there, or ANSIBLE_STRATEGY=linear, goes back to stock Ansible.
from __future__ import annotations

DOCUMENTATION = """
    name: idcpilot_linear
    short_description: Ansible's linear strategy with modules run through Mitogen
    description:
        - Task by task across all hosts, as linear; each host keeps one Python interpreter
          for the run (Mitogen), so module code is sent and imported once.
"""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401  (re-exported)
