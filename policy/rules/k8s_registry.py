"""K8S-REGISTRY: every image comes from the estate's approved private registry."""

from idcpilot.errors import excerpt
from idcpilot.policy import Rule
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-REGISTRY",
    title="Images only from the approved private registry",
    severity="high",
    stage=("plan",),
    clause="Edge clusters in air-gapped IDCs: every image comes from the estate's approved private registry",
    remediation="Mirror the image into spec.registry and reference it as <registry>/<repository>:<tag>.",
)
PER_RESOURCE = True


def check_manifests(manifests, env):
    prefix = (env.registry or "").rstrip("/") + "/"
    for m in manifests:
        for c, path in m.containers():
            image = str(c.get("image") or "")
            if not env.registry:
                yield K8sResult(m, False, "no approved registry configured; cannot accept any image", path + ("image",))
            elif not image.startswith(prefix):
                yield K8sResult(m, False, f"container {excerpt(c.get('name'))} image {excerpt(image) if image else '(none)'} is not from {env.registry}", path + ("image",))
            else:
                yield K8sResult(m, True, f"container {excerpt(c.get('name'))} from {env.registry}")


def check(ctx):
    yield from run(ctx, check_manifests, "containers")
