"""Register one Kubernetes object from its manifest, as pulumi-kubernetes' typed classes do.

``KubeObject(name, manifest, opts)`` registers ``manifest`` (a plain dict in Kubernetes' own
field names, as ``components.kube`` builds them) under the object's own type token,
``kubernetes:<group>/<version>:<Kind>`` — the same request ``k8s.apps.v1.Deployment(...)`` sends:
same token, same inputs (``apiVersion``, ``kind`` and the fields given), the provider plugin's
version, and for a ``Secret`` the same secrecy (``data`` and ``stringData`` are secret inputs
and secret outputs). The provider, ``pulumi up``, CrossGuard and the state see no difference;
a stack can move between the two spellings without a replacement (same type, name, parent).

What the typed classes add and this does not: aliases to the object's pre-GA API versions
(``extensions/v1beta1`` and the like, only relevant to stacks created with those versions) and
typed output objects (the components read no outputs of the objects they create). They also walk
the type metadata of every nested input key, which made them ~30 % of an offline plan's time.
"""

from __future__ import annotations

from typing import Any, Mapping

import pulumi
from pulumi_kubernetes import _utilities

#: Provider plugin version and download URL the typed classes put on every resource.
_DEFAULTS = _utilities.get_resource_opts_defaults()
_SECRET_FIELDS = ("data", "stringData")


def type_token(api_version: str, kind: str) -> str:
    """``apps/v1`` + ``Deployment`` -> ``kubernetes:apps/v1:Deployment``; ``v1`` is the core group."""
    return f"kubernetes:{api_version if '/' in api_version else 'core/' + api_version}:{kind}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def _register(res: pulumi.CustomResource, resource_name: str, manifest: Mapping[str, Any],
              opts: pulumi.ResourceOptions | None) -> None:
    # Not an __init__: the SDK takes a resource's source position from the frame below the third
    # __init__ on the stack (Resource, CustomResource, then the concrete class), which must be
    # the component's line, not this module's.
    missing = [k for k in ("apiVersion", "kind", "metadata") if not manifest.get(k)]
    if missing:
        raise ValueError(f"{resource_name}: a Kubernetes object needs {', '.join(missing)}")
    props = {k: v for k, v in manifest.items() if v is not None}
    opts = pulumi.ResourceOptions.merge(_DEFAULTS, opts)
    if manifest["kind"] == "Secret" and manifest["apiVersion"] == "v1":
        for key in _SECRET_FIELDS:
            if key in props:
                props[key] = pulumi.Output.secret(props[key])
        opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=list(_SECRET_FIELDS)))
    pulumi.CustomResource.__init__(res, type_token(manifest["apiVersion"], manifest["kind"]), resource_name, props, opts)


class KubeObject(pulumi.CustomResource):
    """One Kubernetes object from a whole manifest (``apiVersion``, ``kind``, ``metadata``, ...)."""

    def __init__(self, resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        _register(self, resource_name, manifest, opts)


def _kind(api_version: str, kind: str) -> type[KubeObject]:
    """A class per kind, called like the typed class it stands for: ``Deployment(name,
    metadata=..., spec=..., opts=...)``; top-level keyword names are snake_case (``role_ref``,
    ``string_data``), nested dicts are in Kubernetes' own field names."""

    def __init__(self: KubeObject, resource_name: str, opts: pulumi.ResourceOptions | None = None, **fields: Any) -> None:
        manifest = {"apiVersion": api_version, "kind": kind, **{_camel(k): v for k, v in fields.items()}}
        _register(self, resource_name, manifest, opts)

    return type(kind, (KubeObject,), {"__init__": __init__, "__doc__": f"A {api_version} {kind}.", "__module__": __name__})


Namespace = _kind("v1", "Namespace")
ServiceAccount = _kind("v1", "ServiceAccount")
ConfigMap = _kind("v1", "ConfigMap")
Secret = _kind("v1", "Secret")
Service = _kind("v1", "Service")
ResourceQuota = _kind("v1", "ResourceQuota")
LimitRange = _kind("v1", "LimitRange")
Deployment = _kind("apps/v1", "Deployment")
DaemonSet = _kind("apps/v1", "DaemonSet")
NetworkPolicy = _kind("networking.k8s.io/v1", "NetworkPolicy")
Role = _kind("rbac.authorization.k8s.io/v1", "Role")
RoleBinding = _kind("rbac.authorization.k8s.io/v1", "RoleBinding")
ClusterRole = _kind("rbac.authorization.k8s.io/v1", "ClusterRole")
ClusterRoleBinding = _kind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")
