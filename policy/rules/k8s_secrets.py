"""K8S-SECRETS: secrets encrypted at rest on the cluster; no plaintext secret in config or manifests."""

import re

from idcpilot.catalogue.load import display_name
from idcpilot.errors import excerpt
from idcpilot.policy import Location, Rule
from idcpilot.yamlsource import load_yaml_file
from idcpilot.policy.k8s import is_plain_secret
from idcpilot.policy.k8srule import K8sResult, run

RULE = Rule(
    id="K8S-SECRETS",
    title="Secrets encrypted at rest; none in plaintext",
    severity="critical",
    stage=("plan",),
    clause="Edge clusters: Secrets encrypted at rest; no plaintext secret in stack config or state",
    remediation="Keep secretsEncryption: true; pass secret values as Pulumi secrets (pulumi config set --secret), never literals.",
)
PER_RESOURCE = True


def check_manifests(manifests, env):
    for m in manifests:
        if m.kind == "Secret":
            for key in ("stringData", "data"):
                for name, value in (m.body.get(key) or {}).items():
                    if is_plain_secret(value):
                        yield K8sResult(m, False, f"Secret {excerpt(m.name)} holds {key}.{excerpt(name)} in plaintext (not a Pulumi secret)", (key, name))
                        break
                else:
                    continue
                break
            else:
                yield K8sResult(m, True, f"Secret {m.name} values are Pulumi secrets")
        elif m.kind == "ConfigMap":
            leaked = [k for k, v in (m.body.get("data") or {}).items() if env.secret_key.search(k) and is_plain_secret(v)]
            if leaked:
                yield K8sResult(m, False, f"ConfigMap {excerpt(m.name)} holds secret-like key(s) {excerpt(', '.join(map(str, leaked)))} in plaintext", ("data", leaked[0]))
        for c, path in m.containers():
            for j, var in enumerate(c.get("env") or []):
                if isinstance(var, dict) and env.secret_key.search(str(var.get("name", ""))) and is_plain_secret(var.get("value")):
                    yield K8sResult(m, False, f"container {excerpt(c.get('name'))} sets {excerpt(var.get('name'))} as a literal; use a secretKeyRef",
                                    path + ("env", j, "value"))


def _stack_configs(ctx):
    """The estate's Pulumi stack config files: <project>/<stackConfigDir>/Pulumi.<estate>.*.yaml."""
    start = ctx.cat.root.resolve()
    for parent in (start, *start.parents):
        project = parent / "Pulumi.yaml"
        if project.is_file():
            data, _ = load_yaml_file(project)
            cfg_dir = parent / str((data or {}).get("stackConfigDir") or ".")
            return sorted(cfg_dir.glob(f"Pulumi.{ctx.cat.name}.*.yaml"))
    return []


def check_stack_config(ctx, secret_key):
    """No secret-like stack config value in plaintext (Pulumi keeps secrets as {secure: ...})."""
    files = _stack_configs(ctx)
    bad = False
    for f in files:
        data, smap = load_yaml_file(f, display_name(f))
        config = (data or {}).get("config") or {}
        if not isinstance(config, dict):
            continue
        for key, value in config.items():
            if isinstance(value, dict) and "secure" in value:
                continue
            text = value if isinstance(value, str) else ""
            if secret_key.search(key.split(":")[-1]) or "-----BEGIN" in text or "client-key-data" in text:
                if value not in (None, ""):
                    bad = True
                    line, col = smap.locate(("config", key))
                    yield ctx.fail(f"stack/{f.name[len('Pulumi.'):-len('.yaml')]}",
                                   f"stack config {key} is in plaintext; use `pulumi config set --secret`",
                                   Location(smap.file, line, col))
    if files and not bad:
        yield ctx.ok(ctx.estate_target, f"{len(files)} stack config file(s): no plaintext secret")


def check(ctx):
    yield from check_stack_config(ctx, re.compile(ctx.thresholds.get("k8s.secretKeyPattern")))
    for i, c in enumerate(ctx.spec.clusters):
        if c.secrets_encryption:
            yield ctx.ok(f"cluster/{c.name}", "Secrets encrypted at rest", ("spec", "clusters", i))
        else:
            yield ctx.fail(f"cluster/{c.name}", "Secrets are not encrypted at rest (secretsEncryption: false)",
                           ("spec", "clusters", i, "secretsEncryption"))
    if ctx.manifests is not None:
        yield from run(ctx, check_manifests, "Secrets, ConfigMaps and container env")
