"""Schema checks of the manifests the gate judges, against their cluster's Kubernetes version,
through ``idcpilot.k8sschema`` (the validator ``idcpilot plan`` uses too), with file:line:column
for manifests read from files."""

from __future__ import annotations

from idcpilot import k8sschema
from idcpilot.errors import Problem, excerpt
from idcpilot.policy.k8s.manifest import ManifestSet
from idcpilot.yamlsource import format_path


def schema_problems(manifests: ManifestSet, versions: dict[str, str]) -> tuple[list[Problem], list[str]]:
    """Validate every manifest against its cluster's Kubernetes schema (strict: unknown fields fail).

    Returns problems (file:line for manifests read from files; an unsupported version or a
    cluster without one is a problem too) and notes for custom resources, which no bundled
    schema describes (not schema-checked).
    """
    problems: list[Problem] = []
    unchecked: set[str] = set()
    refused: set[str] = set()
    for m in manifests.items:
        version = versions.get(m.cluster)
        try:
            if version is None:
                raise k8sschema.UnsupportedVersion(f"the estate has no cluster {excerpt(m.cluster)}, so no Kubernetes version")
            errors = k8sschema.errors(version, m.body)
        except k8sschema.UnsupportedVersion as exc:
            if m.cluster not in refused:
                refused.add(m.cluster)
                problems.append(Problem(m.source.file if m.source else f"<planned {m.cluster}>", 1, 1, "",
                                        f"cluster {m.cluster}: {exc}"))
            continue
        if errors is None:
            unchecked.add(f"{m.body.get('apiVersion')}/{m.kind}")
            continue
        for path, text in errors:
            message = f"{m.target}: schema: {text}"
            if m.source is not None:
                line, col = m.source.locate(path)
                problems.append(Problem(m.source.file, line, col, format_path(path), message))
            else:
                problems.append(Problem(f"<planned {m.cluster}>", 1, 1, format_path(path), message))
    notes = [f"no Kubernetes schema for custom resource {excerpt(k)}; not schema-checked (the K8S rules still judge it)"
             for k in sorted(unchecked)]
    return problems, notes
