"""K8S-LIMITS: every container declares CPU and memory requests and limits."""

from idcpilot.errors import excerpt
from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-LIMITS",
    title="CPU and memory requests and limits on every container",
    severity="medium",
    stage=("plan",),
    clause="Edge clusters: every container declares CPU and memory requests and limits",
    remediation="Set resources.requests and resources.limits for cpu and memory (services: resources: in the catalogue).",
)
PER_RESOURCE = True


def check_manifests(manifests, env):
    for m in manifests:
        for c, path in m.containers():
            if path[-2] == "ephemeralContainers":
                continue
            res = c.get("resources") or {}
            missing = [f"{kind}.{r}" for kind in ("requests", "limits") for r in ("cpu", "memory") if not (res.get(kind) or {}).get(r)]
            if missing:
                yield K8sResult(m, False, f"container {excerpt(c.get('name'))} lacks {', '.join(missing)}", path + ("resources",) if res else path + ("name",))
            else:
                yield K8sResult(m, True, f"container {excerpt(c.get('name'))} has requests and limits")


def check(ctx):
    yield from run(ctx, check_manifests, "containers")
