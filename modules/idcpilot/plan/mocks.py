"""Mocks standing in for the providers: what ``pulumi up`` would return, without a cluster.

Kubernetes resources echo their inputs (as the provider does after apply). The gateways' key
material (``components.pki``) is produced for real with ``cryptography`` (fresh keys per plan), by
the same function the dynamic provider runs, so the program's secret plumbing is exercised with
genuine key material that must never leak.
"""

from __future__ import annotations

from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from idcpilot.components import pki
from idcpilot.redaction import PULUMI_SIG_KEY

_SIG = PULUMI_SIG_KEY


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if _SIG in value:
            return _plain(value.get("value"))
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


class PlanMocks(Mocks):
    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        kind = args.typ
        if kind == pki.TYPE:
            return f"{args.name}-id", {**args.inputs, **pki.make(_plain(args.inputs))}
        # An echo: the inputs object itself, untouched, which tells the recording monitor to answer
        # with the request's own serialized inputs instead of serializing them again.
        return f"{args.name}-id", args.inputs

    def call(self, args: MockCallArgs) -> dict:
        # Provider functions have no offline answer: an empty result. (A plain dict: the SDK's
        # MockMonitor.Invoke iterates the failures of a tuple, so the base class's ``({}, None)``
        # made every invoke fail with a TypeError.)
        return {}
