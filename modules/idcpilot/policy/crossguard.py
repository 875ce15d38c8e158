"""The CrossGuard pack: the same K8S-* rule code, run by ``pulumi preview --policy-pack policy/``.

``policy/__main__.py`` calls :func:`serve`, which builds a ``pulumi_policy.PolicyPack`` (its
constructor starts the gRPC server, prints the port and never returns). Per-resource rules become
``ResourceValidationPolicy``s, K8S-NETPOL (which needs every namespace and policy of the stack) a
``StackValidationPolicy``. Enforcement levels come from severity through ``crossguard.enforcement``
in ``policy/thresholds.yaml``; Pulumi's own per-policy config (``--policy-pack-config``) overrides
them. Settings: policy config ``registry`` (per policy), or ``IDCPILOT_REGISTRY``, or the estate
named by ``IDCPILOT_ESTATE`` (``inventories/<env>``), which also gives the data domains.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from idcpilot.policy import registry
from idcpilot.policy.k8s import DEFAULT_NAMESPACE, Manifest
from idcpilot.redaction import PULUMI_SECRET_SIG, PULUMI_SIG_KEY
from idcpilot.policy.k8srule import K8sEnv
from idcpilot.policy.thresholds import Thresholds, load as load_thresholds

PACK_NAME = "idcpilot-pilot-spec"
PULUMI_SECRET_MARK = {PULUMI_SIG_KEY: PULUMI_SECRET_SIG}
CONFIG_SCHEMA = {"registry": {"type": "string", "description": "approved private registry host[:port] (K8S-REGISTRY)"}}


class SecretText(str):
    """A string that Pulumi marked secret (so K8S-SECRETS does not call it plaintext)."""

    is_pulumi_secret = True


def _raw(value: Any) -> Any:
    """The object under the SDK's unknown-checking and secret-preserving proxies."""
    while type(value).__name__ in ("_DictProxy", "_ListProxy", "_DictSecretsProxy", "_ListSecretsProxy"):
        value = value["__target"]
    return value


def _is_secret(value: Any) -> bool:
    return type(value).__name__ == "Secret" and hasattr(value, "value")


def _known(child: Any, raw: Any, key: Any) -> Any:
    """CHILD, unless it is a secret whose value the engine cannot know yet (during a preview the
    SDK's unknown check does not look inside secrets): then the SDK's UnknownValueError, which
    reports the policy as not runnable on that resource during preview, as for any unknown."""
    if not _is_secret(raw):
        return child
    from pulumi_policy.proxy import UnknownValueError, _is_unknown  # only for the rare secret value

    if _is_unknown(raw.value):
        raise UnknownValueError(raw.value, [str(key)])
    return child


def _plain(value: Any) -> Any:
    """Policy SDK proxies -> plain dicts, lists and strings; Pulumi secrets stay recognisable.

    Values are read through the proxies (so an unknown preview value raises the SDK's
    UnknownValueError, reported by the SDK as "can't run policy during preview"); the raw
    object underneath tells which of them Pulumi marked secret.
    """
    if isinstance(value, Mapping):
        raw = _raw(value)
        out = {}
        for k in value:
            child = _known(_plain(value[k]), raw[k], k)
            if _is_secret(raw[k]):
                child = SecretText(child) if isinstance(child, str) else {**PULUMI_SECRET_MARK, "value": child}
            out[str(k)] = child
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        raw = _raw(value)
        out_list = []
        for i in range(len(value)):
            child = _known(_plain(value[i]), raw[i], i)
            if _is_secret(raw[i]):
                child = SecretText(child) if isinstance(child, str) else {**PULUMI_SECRET_MARK, "value": child}
            out_list.append(child)
        return out_list
    return value


def provider_namespace(provider: Any) -> str:
    """Where the resource's Kubernetes provider puts objects without a namespace (its ``namespace``
    input, else ``default``)."""
    props = getattr(provider, "props", None)
    namespace = props.get("namespace") if isinstance(props, Mapping) else None
    return namespace if isinstance(namespace, str) and namespace else DEFAULT_NAMESPACE


def manifest_of(resource_type: str, props: Mapping[str, Any], cluster: str,
                default_namespace: str = DEFAULT_NAMESPACE) -> Manifest | None:
    """A Kubernetes manifest from a Pulumi kubernetes resource (``kubernetes:apps/v1:Deployment``)."""
    parts = resource_type.split(":")
    if len(parts) != 3 or parts[0] != "kubernetes" or "/" not in parts[1]:
        return None
    group, version = parts[1].rsplit("/", 1)
    if group in ("helm.sh", "yaml", "kustomize"):
        return None
    body = _plain(props)
    body.setdefault("apiVersion", version if group == "core" else f"{group}/{version}")
    body.setdefault("kind", parts[2])
    return Manifest(cluster, body, default_namespace=default_namespace)


def _resolve_env(thresholds: Thresholds) -> K8sEnv:
    reg = os.environ.get("IDCPILOT_REGISTRY")
    domains: list[str] = []
    estate = os.environ.get("IDCPILOT_ESTATE")
    if estate:
        from idcpilot import catalogue

        cat = catalogue.load(Path(estate))
        reg = reg or cat.estate.spec.registry
        domains = list(cat.estate.spec.data_domains)
    return K8sEnv.from_thresholds(thresholds, reg, domains)


def build_policies(thresholds: Thresholds | None = None) -> list[Any]:
    """One CrossGuard policy per K8S-* rule, from the rule files in ``policy/rules/``."""
    from pulumi_policy.proxy import UnknownValueError
    from pulumi_policy import (
        EnforcementLevel,
        ReportViolation,
        ResourceValidationArgs,
        ResourceValidationPolicy,
        StackValidationArgs,
        StackValidationPolicy,
    )

    thresholds = thresholds or load_thresholds(registry.policy_dir() / "thresholds.yaml")
    levels = thresholds.get("crossguard.enforcement")
    base_env = _resolve_env(thresholds)
    policies: list[Any] = []

    def env_for(config: Mapping[str, Any]) -> K8sEnv:
        if config.get("registry"):
            from dataclasses import replace

            return replace(base_env, registry=str(config["registry"]))
        return base_env

    for lr in registry.load_rules(registry.policy_dir()):
        if lr.check_manifests is None:
            continue
        rule, check_manifests = lr.rule, lr.check_manifests
        level = EnforcementLevel(levels.get(rule.severity, "advisory"))
        description = f"{rule.title}. {rule.clause}. Fix: {rule.remediation}"
        if lr.per_resource:
            def validate(args: ResourceValidationArgs, report: ReportViolation, _check=check_manifests, _id=rule.id) -> None:
                m = manifest_of(args.resource_type, args.props, args.stack_tags.get("idcpilot:cluster", "stack"),
                                provider_namespace(args.provider))
                if m is None:
                    return
                for r in _check([m], env_for(args.get_config())):
                    if not r.ok:
                        report(f"[{_id}] {r.message}", None)

            policies.append(ResourceValidationPolicy(
                name=rule.id.lower(), description=description, validate=validate, enforcement_level=level,
                config_schema=_schema(), display_name=f"{rule.id}: {rule.title}"))
        else:
            def validate_stack(args: StackValidationArgs, report: ReportViolation, _check=check_manifests, _id=rule.id) -> None:
                by_urn: dict[int, str] = {}
                manifests: list[Manifest] = []
                for res in args.resources:
                    try:
                        m = manifest_of(res.resource_type, res.props, args.stack_tags.get("idcpilot:cluster", "stack"),
                                        provider_namespace(res.provider))
                    except UnknownValueError:
                        # a value only `up` will know (a certificate made by another resource): during a
                        # preview this object is left out here, and the resource policies say so for it
                        # ("can't run policy ... during preview"); `up` checks it with its values
                        continue
                    if m is not None:
                        by_urn[id(m)] = res.urn
                        manifests.append(m)
                for r in _check(manifests, env_for(args.get_config())):
                    if not r.ok:
                        report(f"[{_id}] {r.message}", by_urn.get(id(r.manifest)))

            policies.append(StackValidationPolicy(
                name=rule.id.lower(), description=description, validate=validate_stack, enforcement_level=level,
                config_schema=_schema(), display_name=f"{rule.id}: {rule.title}"))
    return policies


def _schema() -> Any:
    from pulumi_policy import PolicyConfigSchema

    return PolicyConfigSchema(properties=CONFIG_SCHEMA)


def _keep_secret_markers() -> None:
    """Let the pack see which inputs Pulumi marked secret.

    The SDK's analyzer unwraps secrets to plain values before policies see them; with
    ``proxy_secrets`` it wraps them in ``pulumi_policy.Secret`` instead, which K8S-SECRETS needs to
    tell a Pulumi secret from a plaintext literal.
    """
    import pulumi_policy.policy as sdk

    original = sdk.deserialize_properties
    if getattr(original, "_idcpilot", False):
        return

    def deserialize(props: Any, proxy_secrets: bool = False) -> Any:
        return original(props, True)

    deserialize._idcpilot = True  # type: ignore[attr-defined]
    sdk.deserialize_properties = deserialize


def serve() -> None:
    """Build the pack; the PolicyPack constructor serves gRPC until the engine kills the process."""
    from pulumi_policy import PolicyPack

    _keep_secret_markers()
    PolicyPack(name=PACK_NAME, policies=build_policies(),
               description="idcpilot: the K8S-* rules of the pilot specification, same code as `idcpilot check`")
