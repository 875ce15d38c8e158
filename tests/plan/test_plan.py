"""The offline plan: the real stack program under mocks, manifests, schema validation, policy, secrets."""

from __future__ import annotations

import dataclasses
import gc
import json
import shutil
import threading
from pathlib import Path

import pulumi
import pytest
import yaml
from typer.testing import CliRunner

from idcpilot.cli.main import app
from idcpilot.cli.plan import tree
from idcpilot.components import EdgeCluster
from idcpilot.errors import UserInputError
from idcpilot import k8sschema
from idcpilot.plan import plan_estate, schemas
from idcpilot.plan.manifests import manifests as to_manifests
from idcpilot.plan.manifests import to_yaml
from idcpilot.plan.stacks import find_project, read_stack_file

from tests.plan.conftest import run_components

PLANTED = "PLANTED-kubeconfig-token-7f3c9a1e"


@pytest.fixture(scope="module")
def example_plan():
    from idcpilot import catalogue
    return plan_estate(catalogue.load("inventories/example"), secrets={"kubeconfig": PLANTED})


def _walk(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    else:
        yield value


def test_every_cluster_planned_and_schema_valid(example_plan):
    assert set(example_plan.manifests) == {"bj-core-k8s", "sh-core-k8s", "gz-edge-k8s", "cd-edge-k8s", "hz-edge-k8s"}
    assert example_plan.validated and example_plan.problems == []
    for sp in example_plan.stacks:
        assert sp.stack == f"example.{sp.cluster}"
        assert sp.config_file and sp.config_file.endswith(f"Pulumi.example.{sp.cluster}.yaml")
        assert sp.outputs["cluster"] == sp.cluster and sp.outputs["estate"] == "example"
        assert sum(1 for r in sp.resources if r.type == "pulumi:providers:kubernetes") == 1
        assert {r.type for r in sp.resources if not r.custom} >= {"idcpilot:edge:Cluster", "idcpilot:edge:Monitoring"}
    gz = next(s for s in example_plan.stacks if s.cluster == "gz-edge-k8s")
    assert any(r.type == "idcpilot:edge:ZeroTrustGateway" for r in gz.resources)


def test_manifests_are_clean(example_plan):
    for cluster, docs in example_plan.manifests.items():
        for doc in docs:
            assert doc["metadata"]["name"]
            assert list(doc)[:3] == ["apiVersion", "kind", "metadata"]
            for leaf in _walk(doc):
                assert leaf is not None
                assert not isinstance(leaf, float), f"{cluster} {doc['kind']} has a float"


def test_planted_secret_never_in_output(example_plan):
    graph = json.dumps(example_plan.to_json())
    text = "\n".join(to_yaml(d) for d in example_plan.manifests.values())
    logs = "\n".join(line for s in example_plan.stacks for line in s.logs)
    from rich.console import Console
    console = Console(record=True, width=200)
    console.print(tree(example_plan))
    shown = console.export_text()
    for out in (graph, text, logs, shown):
        assert PLANTED not in out
        assert "PRIVATE KEY" not in out  # the gateway keys the tls mocks generate for real
    providers = [r for s in example_plan.stacks for r in s.resources if r.type == "pulumi:providers:kubernetes"]
    assert all(p.inputs["kubeconfig"] == "[secret]" and "kubeconfig" in p.secret_paths for p in providers)


def test_k8s_rules_pass_on_the_plan(example_plan, example):
    from idcpilot.policy import engine
    cat, _ = example
    report = engine.run(cat, manifests=example_plan.manifests, only=["K8S"])
    failed = [f"{f.rule.id} {f.target}: {f.message}" for f in report.findings if f.status == "fail"]
    assert failed == []
    assert {f.rule.id for f in report.findings if f.status == "pass"} >= {
        "K8S-PSA", "K8S-NETPOL", "K8S-REGISTRY", "K8S-LIMITS", "K8S-LABELS", "K8S-SECRETS"}


def _plan_broken(spec, **service_changes):
    svc = dataclasses.replace(spec.edge.services[0], **service_changes)
    edge = dataclasses.replace(spec.edge, services=(svc,) + spec.edge.services[1:])
    r = run_components(lambda p: EdgeCluster(edge.common.cluster, edge, pulumi.ResourceOptions(provider=p)))
    return {edge.common.cluster: to_manifests(r.resources)}


def _failures(cat, manifests, rule):
    from idcpilot.policy import engine
    report = engine.run(cat, manifests=manifests, only=[rule], schema_check=False)
    return [f for f in report.findings if f.status == "fail"]


def test_broken_inputs_fail_the_rules(spec_of, example):
    cat, _ = example
    spec = spec_of("bj-core-k8s")
    outside = _plan_broken(spec, image="docker.io/library/nginx:latest")
    fails = _failures(cat, outside, "K8S-REGISTRY")
    assert fails and "docker.io/library/nginx:latest" in fails[0].message
    # a namespace missing its classification label: EdgeCluster labels come from Common.labels
    common = spec.edge.common

    class Unlabelled(type(common)):
        def labels(self, component, classification="x"):
            out = super().labels(component, classification)
            out.pop("idcpilot.io/data-classification")
            return out

    bare = dataclasses.replace(spec.edge, common=Unlabelled(**dataclasses.asdict(common)))
    r = run_components(lambda p: EdgeCluster(bare.common.cluster, bare, pulumi.ResourceOptions(provider=p)))
    fails = _failures(cat, {"bj-core-k8s": to_manifests(r.resources)}, "K8S-LABELS")
    assert fails and any("Namespace" in f.message and "data-classification" in f.message for f in fails)


def test_broken_input_fails_schema_validation(spec_of):
    spec = spec_of("bj-core-k8s")
    manifests = _plan_broken(spec, port="eighty")
    problems = [p for m in manifests["bj-core-k8s"] for p in schemas.check("bj-core-k8s", "1.30.4", m)]
    assert any(p.kind == "Service" and p.path == "spec.ports[0].port" for p in problems)
    assert any(p.kind == "Deployment" and p.path.endswith("containerPort") for p in problems)
    nameless = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"labels": {}}, "data": {"a": "b"}, "bogus": 1}
    found = schemas.check("c", "1.30.4", nameless)
    assert any(p.path == "metadata.name" for p in found) and any("bogus" in p.message for p in found)  # strict


def test_one_compiled_validator_per_kind_and_version(example_plan):
    docs = example_plan.manifests["bj-core-k8s"]
    k8sschema.validator.cache_clear()
    for doc in docs * 3:
        assert schemas.check("bj-core-k8s", "1.30.4", doc) == []
    kinds = {(d["apiVersion"], d["kind"]) for d in docs}
    assert k8sschema.validator.cache_info().currsize == len(kinds)
    assert k8sschema.schema_dir("1.29.8") == "v1.29.0-local-strict" and k8sschema.schema_dir("1.30.4") == "v1.30.0-local-strict"
    with pytest.raises(k8sschema.UnsupportedVersion, match="available: 1.25"):
        schemas.check("bj-core-k8s", "1.10.0", docs[0])


def test_cli_plan_all_out_writes_valid_yaml(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["plan", "inventories/example", "--all", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "idcpilot:edge:Cluster bj-core-k8s" in result.output and "pass strict schema validation" in result.output
    files = sorted(tmp_path.glob("*/manifests.yaml"))
    assert [f.parent.name for f in files] == sorted(["bj-core-k8s", "sh-core-k8s", "gz-edge-k8s", "cd-edge-k8s", "hz-edge-k8s"])
    for f in files:
        text = f.read_text()
        assert ": null" not in text and "PRIVATE KEY" not in text
        docs = list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
        assert all(schemas.check(f.parent.name, "1.30.4" if "core" in f.parent.name or "hz" in f.parent.name else "1.29.8", d) == [] for d in docs)
    # rerun replaces its own files; a file it did not write is never overwritten
    assert runner.invoke(app, ["plan", "inventories/example", "-s", "hz-edge-k8s", "--out", str(tmp_path)]).exit_code == 0
    (tmp_path / "hz-edge-k8s" / "manifests.yaml").write_text("# mine\n")
    result = runner.invoke(app, ["plan", "inventories/example", "-s", "hz-edge-k8s", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "not overwriting" in result.output
    assert (tmp_path / "hz-edge-k8s" / "manifests.yaml").read_text() == "# mine\n"


def test_cli_json_graph_and_stack_selection():
    runner = CliRunner()
    result = runner.invoke(app, ["plan", "inventories/example", "--stack", "gz-edge-k8s", "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["cluster"] for s in data["stacks"]] == ["gz-edge-k8s"]
    res = data["stacks"][0]["resources"]
    urns = {r["urn"] for r in res}
    assert all(r["parent"] in urns or r["parent"].endswith("::idcpilot-example.gz-edge-k8s") for r in res)
    assert all(d in urns for r in res for d in r["dependencies"])
    assert data["stacks"][0]["counts"]["kubernetes:networking.k8s.io/v1:NetworkPolicy"] > 10
    bad = runner.invoke(app, ["plan", "inventories/example", "--stack", "nope"])
    assert bad.exit_code == 2 and "no stack 'nope'" in bad.output and "Traceback" not in bad.output
    both = runner.invoke(app, ["plan", "inventories/example", "--stack", "gz-edge-k8s", "--all"])
    assert both.exit_code == 2


def test_lab_plan(lab):
    cat, alloc = lab
    result = plan_estate(cat, alloc=alloc)
    assert list(result.manifests) == ["lab-sh-k8s"] and result.problems == []


def test_plain_kubeconfig_in_stack_config_is_refused(tmp_path):
    project = find_project()
    file = tmp_path / "Pulumi.example.bj-core-k8s.yaml"
    file.write_text(f"config:\n  idcpilot:estate: example\n  idcpilot:catalogue: inventories/example\n"
                    f"  idcpilot:cluster: bj-core-k8s\n  idcpilot:kubeconfig: {PLANTED}\n")
    with pytest.raises(UserInputError) as exc:
        read_stack_file(project, file)
    message = str(exc.value)
    assert f"{file}:5:" in message and "must be a Pulumi secret" in message and PLANTED not in message
    file.write_text("config:\n  idcpilot:estate: example\n  idcpilot:catalogue: inventories/example\n"
                    "  idcpilot:cluster: bj-core-k8s\n  idcpilot:kubeconfig:\n    secure: v1:abc:def\n")
    stack = read_stack_file(project, file)
    assert stack.secret_keys == ["idcpilot:kubeconfig"] and "v1:abc" not in stack.config["idcpilot:kubeconfig"]


def test_a_setting_the_program_reads_as_a_boolean_is_refused_unless_it_is_one(tmp_path):
    """idcpilot:simulatedNodes stops the engine waiting for rollouts: a stack file (a pull request)
    gets true or false only, refused with its line rather than failing inside the program."""
    project = find_project()
    file = tmp_path / "Pulumi.lab.lab-sh-k8s.yaml"
    base = "config:\n  idcpilot:estate: lab\n  idcpilot:catalogue: inventories/lab\n  idcpilot:cluster: lab-sh-k8s\n"
    file.write_text(base + '  idcpilot:simulatedNodes: "maybe; rm -rf /"\n')
    with pytest.raises(UserInputError) as exc:
        read_stack_file(project, file)
    assert f"{file}:5:" in str(exc.value) and "simulatedNodes must be true or false" in str(exc.value)
    for ok in ('"true"', "false", "true"):
        file.write_text(base + f"  idcpilot:simulatedNodes: {ok}\n")
        assert read_stack_file(project, file).config["idcpilot:simulatedNodes"] in ("true", "false")


def test_stack_file_naming_another_cluster_is_refused(tmp_path):
    from idcpilot import catalogue
    from idcpilot.plan.stacks import Project
    root = tmp_path / "proj"
    shutil.copytree("inventories/lab", root / "inventories" / "lab")
    (root / "stacks" / "config").mkdir(parents=True)
    shutil.copy("stacks/__main__.py", root / "stacks" / "__main__.py")
    (root / "Pulumi.yaml").write_text("name: idcpilot\nruntime: python\nmain: stacks/\nstackConfigDir: stacks/config\n")
    (root / "stacks" / "config" / "Pulumi.lab.lab-sh-k8s.yaml").write_text(
        "config:\n  idcpilot:estate: lab\n  idcpilot:catalogue: inventories/lab\n  idcpilot:cluster: other\n")
    cat = catalogue.load(root / "inventories" / "lab")
    with pytest.raises(UserInputError, match="file name and content disagree"):
        plan_estate(cat, project=find_project(root))
    (root / "stacks" / "config" / "Pulumi.lab.lab-sh-k8s.yaml").write_text(
        "config:\n  idcpilot:estate: lab\n  idcpilot:catalogue: inventories/lab\n  idcpilot:cluster: lab-sh-k8s\n")
    result = plan_estate(cat, project=find_project(root))  # the copied project's own program runs
    assert result.stacks[0].config_file.startswith(str(root)) and result.problems == []


def test_plans_do_not_leak_state_between_runs(lab):
    cat, alloc = lab
    first = plan_estate(cat, alloc=alloc, validate=False)
    second = plan_estate(cat, alloc=alloc, validate=False)
    assert [r.urn for r in first.stacks[0].resources] == [r.urn for r in second.stacks[0].resources]


def test_plan_of_a_copied_catalogue_plans_the_copy(tmp_path):
    from idcpilot import catalogue
    env = tmp_path / "lab"
    shutil.copytree("inventories/lab", env)
    text = (env / "estate.yaml").read_text()
    (env / "estate.yaml").write_text(text.replace("      image: registry.lab.idcpilot.internal:5000/lab/web:1.0.0\n", ""))
    runner = CliRunner()
    result = runner.invoke(app, ["plan", str(env)])
    assert result.exit_code == 2, result.output
    assert f"{env / 'estate.yaml'}:" in result.output and "spec.services[0]: service 'lab-web'" in result.output
    assert "Traceback" not in result.output
    (env / "estate.yaml").write_text(text.replace("lab/web:1.0.0", "lab/web:2.0.0"))
    plan = plan_estate(catalogue.load(env), validate=False)
    assert "names catalogue inventories/lab" in plan.stacks[0].note
    images = [c["image"] for m in plan.manifests["lab-sh-k8s"] if m["kind"] == "Deployment"
              for c in m["spec"]["template"]["spec"]["containers"]]
    assert "registry.lab.idcpilot.internal:5000/lab/web:2.0.0" in images


def test_program_failure_names_the_stack(tmp_path):
    from idcpilot import catalogue
    from idcpilot.plan import ProgramError
    root = tmp_path / "proj"
    shutil.copytree("inventories/lab", root / "inventories" / "lab")
    (root / "stacks").mkdir()
    (root / "stacks" / "__main__.py").write_text("import pulumi\nraise RuntimeError('boom in program')\n")
    (root / "Pulumi.yaml").write_text("name: idcpilot\nruntime: python\nmain: stacks/\n")
    with pytest.raises(ProgramError, match="stack lab.lab-sh-k8s: the program failed: RuntimeError: boom in program"):
        plan_estate(catalogue.load(root / "inventories" / "lab"), project=find_project(root))


def test_kubernetes_resources_echo_their_inputs_as_outputs():
    """The mocked kubernetes provider answers with the inputs, secrets still secret (the recording
    monitor hands back the request's own serialized inputs for an echo)."""
    import pulumi_kubernetes as k8s
    from idcpilot.plan.runner import run_callable

    seen = {}

    def program():
        cm = k8s.core.v1.ConfigMap("cm", metadata={"name": "cm", "labels": {"a": "b"}}, data={"k": "v", "n": "1"})
        secret = k8s.core.v1.Secret("s", metadata={"name": "s"}, string_data={"key": pulumi.Output.secret("hush")})

        async def outputs():
            seen["data"] = await cm.data.future()
            seen["labels"] = (await cm.metadata.future()).labels
            seen["secret"] = await secret.string_data.future()
            seen["is_secret"] = await secret.string_data.is_secret()
        return outputs()

    run_callable(program)
    assert seen == {"data": {"k": "v", "n": "1"}, "labels": {"a": "b"}, "secret": {"key": "hush"}, "is_secret": True}


@pytest.mark.parametrize("failure", ["provider", "apply"])
def test_a_failed_registration_or_output_fails_the_run(failure):
    """A registration the provider refuses, or an apply that raises, fails the run (the SDK's
    ``wait_for_rpcs`` raises it after the program body has returned)."""
    from idcpilot.plan.mocks import PlanMocks
    from idcpilot.plan.runner import run_callable

    class Refusing(PlanMocks):
        def new_resource(self, args):
            if args.name == "refused":
                raise RuntimeError("provider refused")
            return super().new_resource(args)

    def program():
        ok = pulumi.CustomResource("test:index:Thing", "ok", {"a": 1})
        if failure == "provider":
            pulumi.CustomResource("test:index:Thing", "refused", {"a": 2})
        else:
            ok.urn.apply(lambda _: 1 / 0)

    with pytest.raises((RuntimeError, ZeroDivisionError), match="provider refused" if failure == "provider" else "division"):
        run_callable(program, mocks=Refusing())
    # The SDK leaves the failed outputs' futures unretrieved; finalise them here, not at a random
    # later point (Python 3.11 can trip over their "never retrieved" log inside compile()).
    gc.collect()


def test_init_stacks_writes_missing_files_only(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    shutil.copytree("inventories/example", root / "inventories" / "example")
    (root / "stacks" / "config").mkdir(parents=True)
    shutil.copy("stacks/__main__.py", root / "stacks" / "__main__.py")
    shutil.copy("Pulumi.yaml", root / "Pulumi.yaml")
    mine = root / "stacks" / "config" / "Pulumi.example.bj-core-k8s.yaml"
    mine.write_text("# kept as written\nconfig:\n  idcpilot:estate: example\n  idcpilot:catalogue: inventories/example\n"
                    "  idcpilot:cluster: bj-core-k8s\n  idcpilot:kubeconfig:\n    secure: v1:AAAA:BBBB\n")
    before = mine.read_text()
    monkeypatch.chdir(root)
    result = CliRunner().invoke(app, ["plan", "inventories/example", "--stack", "hz-edge-k8s", "--init-stacks", "--no-validate"])
    assert result.exit_code == 0, result.output
    files = sorted(p.name for p in (root / "stacks" / "config").iterdir())
    assert len(files) == 5 and mine.read_text() == before
    written = read_stack_file(find_project(root), root / "stacks" / "config" / "Pulumi.example.hz-edge-k8s.yaml")
    assert (written.estate, written.cluster) == ("example", "hz-edge-k8s")
    assert "idcpilot:kubeconfig" not in (root / "stacks" / "config" / "Pulumi.example.hz-edge-k8s.yaml").read_text().split("config:")[1]
    assert str(root) in result.output  # the copied project's stack file was used


def test_a_planned_program_can_invoke_provider_functions():
    """Provider functions have no offline answer: the plan's mocks give an empty result (the SDK's
    own default, ``({}, None)``, made every invoke fail with a TypeError)."""
    from idcpilot.plan.runner import run_callable

    seen = {}

    def program():
        async def call():
            seen["empty"] = await pulumi.runtime.invoke_async("kubernetes:helm:template", {"jsonOpts": "{}"})
        return call()

    run_callable(program)
    assert seen == {"empty": None}  # the SDK's value for an empty result


class _Answering(__import__("idcpilot.plan.mocks", fromlist=["PlanMocks"]).PlanMocks):
    def call(self, args):
        return {"answer": 42}


def _without_hanging(run, seconds: float = 60):
    """``run()`` in a thread with a deadline: if a new SDK pumped the loop differently in
    ``_sync_await``, a test must fail, not hang."""
    box: dict = {}

    def target() -> None:
        try:
            box["result"] = run()
        except BaseException as exc:  # noqa: BLE001 - reported below
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the run hung: the SDK's _sync_await no longer drives the run's event loop"
    assert "error" not in box, f"the run failed: {box.get('error')!r}"
    return box["result"]


def test_a_program_that_waits_synchronously_plans():
    """A plain ``invoke`` (Helm v3 Chart, v1 ConfigFile, ``get_*`` functions) blocks on its answer:
    the SDK's ``_sync_await`` pumps the run's event loop by hand. The run must finish with what
    the program registered after the answer came."""
    import pulumi_kubernetes as k8s
    from pulumi.runtime import invoke
    from idcpilot.plan import runner

    def program():
        k8s.core.v1.Namespace("first", metadata={"name": "first"})
        answer = invoke("test:index:answer", {}).value["answer"]
        k8s.core.v1.Namespace("second", metadata={"name": f"second-{int(answer)}"})
        pulumi.export("answer", answer)

    run = _without_hanging(lambda: runner.run_callable(program, mocks=_Answering()))
    names = sorted(r.inputs["metadata"]["name"] for r in run.resources if r.type == "kubernetes:core/v1:Namespace")
    assert names == ["first", "second-42"]
    assert run.outputs == {"answer": 42}


def test_a_program_runs_once_per_stack(tmp_path):
    """Each stack runs the program once, a program that waits synchronously included."""
    from idcpilot.plan import runner
    runs = tmp_path / "runs"
    program = tmp_path / "program.py"
    program.write_text(
        "from pulumi.runtime import invoke\n"
        f"open({str(runs)!r}, 'a').write('x')\n"
        "invoke('test:index:answer', {})\n"
    )
    for stack in ("one", "two", "three"):
        _without_hanging(lambda stack=stack: runner.run_program(program, "idcpilot", stack, {}, [], mocks=_Answering()))
    assert runs.read_text() == "xxx"


def test_kube_objects_register_what_the_typed_classes_register():
    """components.kube_objects sends the same type token, inputs and secrecy as pulumi-kubernetes'
    typed classes (what the engine, the provider and CrossGuard see)."""
    import pulumi_kubernetes as k8s
    from idcpilot.components import kube_objects as objects
    from idcpilot.plan.runner import run_callable

    meta = {"name": "x", "namespace": "ns", "labels": {"a": "b"}}
    cases = [
        ("Namespace", {"metadata": {"name": "ns", "labels": {"a": "b"}}}),
        ("Deployment", {"metadata": meta, "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}}}}),
        ("NetworkPolicy", {"metadata": meta, "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
        ("ClusterRoleBinding", {"metadata": {"name": "x"}, "role_ref": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "r"},
                                "subjects": [{"kind": "Group", "name": "g", "apiGroup": "rbac.authorization.k8s.io"}]}),
        ("ServiceAccount", {"metadata": meta, "automount_service_account_token": False}),
        ("Secret", {"metadata": meta, "type": "kubernetes.io/tls", "string_data": {"tls.key": "hush"}}),
    ]
    typed = {"Namespace": k8s.core.v1.Namespace, "Deployment": k8s.apps.v1.Deployment, "NetworkPolicy": k8s.networking.v1.NetworkPolicy,
             "ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding, "ServiceAccount": k8s.core.v1.ServiceAccount, "Secret": k8s.core.v1.Secret}

    def recorded(make):
        run = run_callable(lambda: [make(kind)(f"{kind.lower()}-r", **fields) for kind, fields in cases])
        return {r.name: (r.type, r.inputs, r.secret_paths) for r in run.resources}

    ours, theirs = recorded(lambda kind: getattr(objects, kind)), recorded(lambda kind: typed[kind])
    assert ours == theirs
    assert ours["secret-r"][2] == ["stringData"] and "hush" not in json.dumps(ours)


def test_kube_objects_keep_the_callers_source_position(monkeypatch):
    """`pulumi up` shows where a resource was declared: the SDK takes it from the frame below the
    third __init__ on the stack, so kube_objects must not add an __init__ of its own in between."""
    from idcpilot.components import kube_objects as objects
    from idcpilot.plan import recorder
    from idcpilot.plan.runner import run_callable

    seen = {}
    register = recorder.RecordingMonitor.RegisterResource

    def spy(self, request):
        seen[request.name] = (Path(request.sourcePosition.uri).name, request.sourcePosition.line)
        return register(self, request)

    monkeypatch.setattr(recorder.RecordingMonitor, "RegisterResource", spy)

    def program():
        objects.Namespace("by-kind", metadata={"name": "by-kind"})
        objects.KubeObject("whole", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "whole"}})

    run_callable(program)
    line = program.__code__.co_firstlineno
    assert seen["by-kind"] == ("test_plan.py", line + 1)
    assert seen["whole"] == ("test_plan.py", line + 2)
