"""A MockMonitor that records every RegisterResource: type, name, inputs, parent, dependencies.

Secret values never leave the recorder in plain text: inputs are stored with every secret
replaced by ``REDACTED`` (keys of a secret map are kept, they are not secret).
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc
from pulumi.runtime.settings import get_project, get_stack
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _sync_await
from google.protobuf import empty_pb2

from idcpilot.redaction import REDACTED

COMPUTED = "[computed]"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"
_SIG = rpc._special_sig_key
_SECRET = rpc._special_secret_sig


@dataclass
class Recorded:
    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    inputs: dict[str, Any]
    secret_paths: list[str] = field(default_factory=list)
    outputs: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        out = {
            "urn": self.urn, "type": self.type, "name": self.name, "custom": self.custom,
            "parent": self.parent, "provider": self.provider, "dependencies": self.dependencies,
            "propertyDependencies": self.property_dependencies, "inputs": self.inputs,
            "secretInputs": self.secret_paths,
        }
        if self.outputs is not None:
            out["outputs"] = self.outputs
        return out


def _redact_all(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET:
            return _redact_all(value.get("value"))
        return {k: _redact_all(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_all(v) for v in value]
    return REDACTED


def redact(value: Any, path: str = "", found: list[str] | None = None) -> Any:
    """Copy of a deserialized property tree with every secret replaced by REDACTED."""
    if isinstance(value, dict):
        if value.get(_SIG) == _SECRET:
            if found is not None:
                found.append(path or ".")
            return _redact_all(value.get("value"))
        return {k: redact(v, f"{path}.{k}" if path else k, found) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    if type(value).__name__ == "Unknown":
        return COMPUTED
    if type(value) is float and value.is_integer():
        return int(value)  # the wire has only doubles; the engine shows 8080 where the program wrote 8080
    return value


class RecordingMonitor(MockMonitor):
    """MockMonitor that keeps an ordered, secret-free record of the program's resources."""

    def __init__(self, mocks: Mocks):
        super().__init__(mocks)
        self.recorded: list[Recorded] = []
        self.by_urn: dict[str, Recorded] = {}
        self.stack_urn: str | None = None
        self.stack_outputs: dict[str, Any] = {}
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._lock = threading.Lock()

    def _thread_loop(self) -> None:
        """The SDK calls the monitor from worker threads and gives each its own event loop;
        remember the loops made here so ``close_loops`` can close them after the run."""
        try:
            asyncio.get_event_loop()
        except RuntimeError:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            with self._lock:
                self._loops.append(loop)

    def close_loops(self) -> None:
        with self._lock:
            loops, self._loops = self._loops, []
        for loop in loops:
            if not loop.is_closed() and not loop.is_running():
                loop.close()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives (pulumi's urn.New): the parent's whole qualified type before
        the resource's own, and nothing for a child of the stack itself. (The SDK's MockMonitor
        keeps only the parent's last type and names the stack's type too, so its URNs of
        top-level components and their children were not the engine's.)"""
        if parent:
            qualified = parent.split("::")[2]
            if qualified != ROOT_STACK_TYPE:
                type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

    def RegisterResource(self, request):  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
            return resource_pb2.RegisterResourceResponse(urn=urn)
        self._thread_loop()
        inputs = rpc.deserialize_properties(request.object)
        secret_paths: list[str] = []
        recorded_inputs = redact(inputs, found=secret_paths)
        if request.type.startswith("pulumi:providers:") and request.version:
            # the engine keeps a provider's plugin version among its inputs, as it will use it
            recorded_inputs.setdefault("version", request.version)
        record = Recorded(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            parent=request.parent or None,
            provider=request.provider.rsplit("::", 1)[0] if request.provider else None,
            dependencies=sorted(set(request.dependencies)),
            property_dependencies={k: sorted(v.urns) for k, v in request.propertyDependencies.items() if v.urns},
            inputs=recorded_inputs,
            secret_paths=secret_paths,
        )
        self.recorded.append(record)
        self.by_urn[urn] = record
        args = MockResourceArgs(typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                                resource_id=request.importId, custom=request.custom or False)
        id_, state = self.mocks.new_resource(args)
        # A mock that returns the inputs object itself echoes them (what a provider reports for a
        # resource created as asked): the response is then the request's own serialized inputs,
        # the very bytes serializing them again would give (~0.08 ms per resource saved). A mock
        # must not edit ``args.inputs`` in place; it returns a new dict when it adds outputs.
        obj_proto = request.object if state is inputs else _sync_await(rpc.serialize_properties(state, {}))
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj_proto)

    def RegisterResourceOutputs(self, request):  # noqa: N802
        self._thread_loop()
        outputs = redact(rpc.deserialize_properties(request.outputs))
        if request.urn == self.stack_urn:
            self.stack_outputs = outputs
        elif request.urn in self.by_urn:
            self.by_urn[request.urn].outputs = outputs
        return empty_pb2.Empty()
