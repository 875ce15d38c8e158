"""Fixtures for the plan tests: catalogues, and running components under fresh Pulumi mocks.

Mocks are installed inside each test (``run_callable`` gives every run a fresh event loop,
fresh runtime settings and config), never at import time.
"""

from __future__ import annotations

from typing import Any, Callable

import pulumi
import pulumi_kubernetes as k8s
import pytest

from idcpilot import catalogue, ipam
from idcpilot.components.spec import ClusterSpec, cluster_spec
from idcpilot.plan.manifests import manifests
from idcpilot.plan.runner import Run, run_callable


@pytest.fixture(scope="session")
def example():
    cat = catalogue.load("inventories/example")
    return cat, ipam.plan(cat)


@pytest.fixture(scope="session")
def lab():
    cat = catalogue.load("inventories/lab")
    return cat, ipam.plan(cat)


@pytest.fixture
def spec_of(example) -> Callable[[str], ClusterSpec]:
    cat, alloc = example
    return lambda name: cluster_spec(cat, alloc, name)


def run_components(build: Callable[[pulumi.ProviderResource], Any]) -> Run:
    """Run ``build(provider)`` as a program under fresh mocks; return what it registered."""
    def program() -> None:
        provider = k8s.Provider("test", kubeconfig=pulumi.Output.secret("apiVersion: v1\nkind: Config\n"))
        build(provider)
    return run_callable(program)


@pytest.fixture
def run() -> Callable[[Callable[[pulumi.ProviderResource], Any]], Run]:
    return run_components


def by_kind(run: Run, kind: str) -> list[dict[str, Any]]:
    return [m for m in manifests(run.resources) if m["kind"] == kind]


def named(run: Run, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    for m in by_kind(run, kind):
        if m["metadata"]["name"] == name and (namespace is None or m["metadata"].get("namespace") == namespace):
            return m
    raise AssertionError(f"no {kind} {namespace + '/' if namespace else ''}{name}")
