"""K8S-ARTIFACTS: the Kubernetes binaries hosts install are checked against sha256 committed in
idcpilot, and come from an https:// artifact repository (or a directory on the deploy machine)."""

from idcpilot.bundle import checksums, select, versions
from idcpilot.policy import Rule
from idcpilot.policy.baseline import check_variables

RULE = Rule(
    id="K8S-ARTIFACTS",
    title="Pinned Kubernetes artifacts over an authenticated transport",
    severity="high",
    stage=("plan",),
    clause=("Software installed on edge-cluster hosts is verified before installation against checksums the "
            "operator reviewed (modules/idcpilot/bundle/checksums.yaml), never against checksums served beside the "
            "files; the offline artifact repository is reached over https (or is a directory on the deploy machine)"),
    remediation=("Serve spec.packageMirror.artifacts over https:// with a certificate the hosts trust (or set "
                 "k8s_node_files_dir / k8s_control_plane_files_dir to a directory on the deploy machine); pin a reviewed "
                 "bundle with `idcpilot bundle lock`; do not set *_artifacts_unpinned or override the checksums in "
                 "group_vars / host_vars."),
)

#: Roles whose hosts fetch from the artifact repository.
FETCHING_ROLES = ("k8s_node", "k8s_control_plane")
ARTIFACTS = ("spec", "packageMirror", "artifacts")


def check(ctx):
    fetching = [h for h in ctx.cat.hosts.values() if any(r in FETCHING_ROLES for r in h.roles)]
    if not fetching:
        yield ctx.na(ctx.estate_target, f"no host has a role that fetches Kubernetes binaries ({', '.join(FETCHING_ROLES)})")
        yield from check_variables(ctx, RULE.id)
        return
    url = ctx.spec.package_mirror.artifacts
    schemes = list(ctx.thresholds.get("k8s.artifactSchemes"))
    if url is None:
        yield ctx.na(ctx.estate_target, "no spec.packageMirror.artifacts: hosts fetch from the role's files_dir "
                                        "(a directory on the deploy machine) or fail")
    else:
        scheme = str(url).split("://", 1)[0].lower()
        if scheme in schemes:
            yield ctx.ok(ctx.estate_target, f"artifact repository {url} is reached over {scheme}", ARTIFACTS)
        else:
            yield ctx.fail(ctx.estate_target,
                           f"artifact repository {url} is reached over {scheme}://; allowed: "
                           f"{', '.join(s + '://' for s in schemes)} (k8s.artifactSchemes) or a directory on the deploy "
                           f"machine: on the wire anyone can read, block or swap what hosts download (hosts refuse a "
                           f"file that differs from its committed sha256, so a swap fails the deploy)", ARTIFACTS)
    # every file of every release the clusters name has a committed sha256 (the roles refuse any other)
    pinned = checksums.expected(versions.load(), checksums.load())
    for c in select.clusters(ctx.cat):
        target = f"cluster/{c.name}"
        if c.release is None:
            continue  # K8S-BUNDLE fails it: no release, no files to pin
        wanted = set(c.release.component_versions().items())
        missing = [f"{e.component} {e.version} {e.name}" for e in pinned
                   if (e.component, e.version) in wanted and e.sha256 is None]
        if missing:
            yield ctx.fail(target, f"no committed sha256 for {', '.join(missing)} ({checksums.CHECKSUMS_FILE.name}; "
                                   f"`idcpilot bundle lock` after review)", c.path)
        else:
            yield ctx.ok(target, f"every file of Kubernetes {c.release.version} and its components has a sha256 "
                                 f"committed in {checksums.CHECKSUMS_FILE.name}", c.path)
    # the pins, the repository and the opt-out set outside the catalogue (policy/thresholds.yaml)
    yield from check_variables(ctx, RULE.id)
