"""Benchmark: `idcpilot plan` time and peak memory, against the bare Pulumi SDK mock floor.

    python bench/bench_plan.py [--clusters 1000] [--sample 250] [--repeat 3]

Scenarios, each in its own process (so peak RSS is its own):
  example    the example estate (5 clusters), every stack planned
  synthetic  bench/synthetic.py's estate with --clusters clusters (default 1,000), every stack
  sample     the first --sample stacks of that estate (growth check: ms/resource should match)
  floor      a trivial program per stack registering the same number of resources under the
             SDK's stock MockMonitor, in the same process setup: the floor any mocked plan pays;
             measured on the stdlib event loop and on uvloop (which the plan uses), the lower
             of the two counts
  same       the same resource types and inputs registered raw (no components, no typed classes),
             on uvloop, echoes answered with the request's own bytes as the plan does: the least
             any program registering these inputs pays
  typed      the same resources through pulumi-kubernetes' typed classes, flat (no
             components, parents or dependencies), run by the plan's own runner: what registering
             them through the typed classes costs (the plan registers Kubernetes objects through
             components/kube_objects, which sends the same requests without them)

Every scenario runs --repeat times, plan and floors interleaved; the best (least CPU) run of
each counts, and the ratios of every round are printed too (a busy machine moves them).
Printed: wall time, resources, ms per resource, the ratio to the floor (target <= 1.5x), peak
RSS; and schema validation cost with one cached validator per kind vs kubernetes_validate.validate().
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(env: str):
    from idcpilot import catalogue, ipam
    cat = catalogue.load(env)
    return cat, ipam.plan(cat)


def scenario_plan(env: str, limit: int | None, dump: str) -> dict:
    from idcpilot.plan import plan_estate
    cat, alloc = _load(env)
    names = list(cat.clusters)[:limit] if limit else None
    plan_estate(cat, list(cat.clusters)[:1], validate=False, alloc=alloc)  # warm: lazy SDK imports, catalogue cache
    start, cpu = time.perf_counter(), time.process_time()
    result = plan_estate(cat, names, validate=False, alloc=alloc)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    per_stack = [len(s.resources) for s in result.stacks]
    with open(dump, "w") as fh:  # what the same-inputs floor registers
        json.dump([[(r.type, r.name, r.inputs if r.custom else None) for r in s.resources] for s in result.stacks], fh)
    return {"seconds": elapsed, "cpu": cpu, "stacks": len(result.stacks), "resources": result.resource_count,
            "perStack": per_stack, "rssMb": _rss_mb()}


def _typed_class(token: str):
    """The SDK class that registers ``token`` (kubernetes:apps/v1:Deployment -> pulumi_kubernetes.apps.v1.Deployment)."""
    import importlib
    pkg, module, name = token.split(":")
    if pkg == "pulumi-python":  # a dynamic resource (components.pki): it has no typed class
        import pulumi
        return lambda res_name, **props: pulumi.CustomResource(token, res_name, props)
    if pkg == "pulumi" and module == "providers":
        return importlib.import_module(f"pulumi_{name}").Provider
    if pkg == "kubernetes":
        group, version = module.split("/")
        return getattr(importlib.import_module(f"pulumi_kubernetes.{group.split('.')[0]}.{version}"), name)
    return getattr(importlib.import_module(f"pulumi_{pkg}"), name)


def _snake(key: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in key)


def scenario_typed(dump: str) -> dict:
    """The same resources through the typed SDK classes (pulumi-kubernetes), flat (no
    components, parents or dependencies), run by the plan's own runner as plan_estate runs a
    stack (recording monitor, echoing mocks, the same collection between stacks): what the
    resources cost before the program's structure and the manifests."""
    import pulumi
    from idcpilot.plan.mocks import PlanMocks
    from idcpilot.plan.runner import run_callable
    stacks = json.load(open(dump))

    class EchoAll(PlanMocks):  # certificates too: the dump holds "[secret]" where the keys were
        def new_resource(self, args):
            return f"{args.name}-id", args.inputs

    def program(i: int):
        def run() -> None:
            for typ, name, inputs in stacks[i]:
                if inputs is None:
                    pulumi.ComponentResource(typ, name)
                else:
                    _typed_class(typ)(name, **{_snake(k): v for k, v in inputs.items() if k not in ("apiVersion", "kind")})
        return run

    run_callable(program(0), mocks=EchoAll())  # warm, as the plan is
    start, cpu = time.perf_counter(), time.process_time()
    count = 0
    gc.freeze()
    try:
        for i in range(len(stacks)):
            count += len(run_callable(program(i), mocks=EchoAll()).resources)
            gc.collect()
            gc.freeze()
    finally:
        gc.unfreeze()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"seconds": elapsed, "cpu": cpu, "stacks": len(stacks), "resources": count, "rssMb": _rss_mb()}


def scenario_floor(per_stack: list[int], dump: str | None = None, uv: bool = False) -> dict:
    """The same number of program runs and resources under the stock MockMonitor: a trivial
    program with tiny inputs, or (``dump``) the very same resource types and inputs registered
    as raw resources, no components, no typed SDK classes. ``uv``: on uvloop's event loop (as
    the plan runs), not the stdlib's.

    With ``dump`` the monitor answers an echo with the request's own serialized inputs, as the
    plan's recording monitor does (the stock one serializes the echoed inputs again, ~0.08 ms
    a resource the plan does not pay): the reference is then the least any program can pay to
    register these inputs under the SDK's mocks."""
    stacks = json.load(open(dump)) if dump else None
    import pulumi
    from pulumi.runtime import mocks, settings
    from pulumi.runtime.stack import run_in_stack

    class Echo(mocks.Mocks):
        def new_resource(self, args):
            return f"{args.name}-id", dict(args.inputs)

        def call(self, args):
            return {}  # a plain dict: the SDK's MockMonitor cannot iterate ({}, None)'s failures

    from pulumi.runtime import rpc
    from pulumi.runtime.proto import resource_pb2

    class EchoMonitor(mocks.MockMonitor):
        def RegisterResource(self, request):  # noqa: N802 - what the stock monitor does, minus re-serializing
            urn = self.make_urn(request.parent, request.type, request.name)
            if request.type == "pulumi:pulumi:Stack":
                return resource_pb2.RegisterResourceResponse(urn=urn)
            inputs = rpc.deserialize_properties(request.object)
            id_, state = self.mocks.new_resource(mocks.MockResourceArgs(
                typ=request.type, name=request.name, inputs=inputs, provider=request.provider,
                resource_id=request.importId, custom=request.custom or False))
            self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
            return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=request.object)

    class Thing(pulumi.CustomResource):
        def __init__(self, name: str, props: dict, opts=None):
            super().__init__("bench:index:Thing", name, props, opts)

    if uv:
        import uvloop
        new_loop = uvloop.new_event_loop
    else:
        new_loop = asyncio.new_event_loop

    def run_one(i: int, count: int) -> None:
        loop = new_loop()
        asyncio.set_event_loop(loop)
        settings.ROOT.set(None)
        echo = Echo()
        mocks.set_mocks(echo, project="bench", stack=f"s{i}", preview=True,
                        monitor=EchoMonitor(echo) if stacks is not None else None)
        settings.ROOT.set(None)

        def program() -> None:
            if stacks is None:
                for j in range(count):
                    Thing(f"r{j}", {"metadata": {"name": f"r{j}", "labels": {"a": "b"}}, "spec": {"n": j}})
                return
            for typ, name, inputs in stacks[i]:
                if inputs is None:
                    pulumi.ComponentResource(typ, name)
                else:
                    pulumi.CustomResource(typ, name, inputs)

        loop.run_until_complete(run_in_stack(program))
        loop.close()
        asyncio.set_event_loop(None)

    run_one(0, per_stack[0])  # warm, as the plan is
    # What exists before the first timed stack (the SDK, the dump of inputs) is frozen out of the
    # collector's walks, as plan_estate freezes what predates its first stack. Unfrozen, the
    # 1,000-cluster dump alone made the same-inputs floor ~35 % slower.
    gc.freeze()
    start, cpu = time.perf_counter(), time.process_time()
    for i, count in enumerate(per_stack):
        run_one(i, count)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    gc.unfreeze()
    return {"seconds": elapsed, "cpu": cpu, "stacks": len(per_stack), "resources": sum(per_stack), "rssMb": _rss_mb()}


def scenario_validate(env: str) -> dict:
    import kubernetes_validate
    from idcpilot import k8sschema
    from idcpilot.plan import plan_estate, schemas
    cat, alloc = _load(env)
    result = plan_estate(cat, validate=False, alloc=alloc)
    docs = [(c, cat.clusters[c].kubernetes_version, m) for c, ms in result.manifests.items() for m in ms]
    start = time.perf_counter()
    k8sschema.validator.cache_clear()
    for c, ver, m in docs:
        assert not schemas.check(c, ver, m)
    cached = time.perf_counter() - start
    sample = docs[:40]
    start = time.perf_counter()
    for _, ver, m in sample:
        kubernetes_validate.validate(m, ver, strict=True)
    naive = (time.perf_counter() - start) / len(sample) * len(docs)
    return {"manifests": len(docs), "cached": cached, "naive": naive, "validators": k8sschema.validator.cache_info().currsize}


def child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"scenario {args} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--sample", type=int, default=250)
    ap.add_argument("--repeat", type=int, default=3, help="runs of every scenario; the best counts (default 3)")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        kind, *rest = a.child
        if kind == "plan":
            out = scenario_plan(rest[0], int(rest[2]) if len(rest) > 2 else None, rest[1])
        elif kind == "floor":
            out = scenario_floor(json.load(open(rest[0])))
        elif kind == "floor-uv":
            out = scenario_floor(json.load(open(rest[0])), uv=True)
        elif kind == "floor-same":
            out = scenario_floor(json.load(open(rest[0])), rest[1], uv=True)
        elif kind == "typed":
            out = scenario_typed(rest[0])
        else:
            out = scenario_validate(rest[0])
        print(json.dumps(out))
        return

    import synthetic
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = Path(tmp) / "synthetic"
        synthetic.write(env, sites=max(10, a.clusters // 10), hosts=max(1000, a.clusters * 10), clusters=a.clusters)
        for label, env_dir, limit in (
            ("example (5 clusters)", "inventories/example", None),
            (f"synthetic, first {a.sample} stacks", str(env), a.sample),
            (f"synthetic ({a.clusters} clusters)", str(env), None),
        ):
            dump = str(Path(tmp) / "resources.json")
            counts = str(Path(tmp) / "counts.json")
            runs: dict[str, list[dict]] = {"plan": [], "floor": [], "floor-uv": [], "same": [], "typed": []}
            for _ in range(a.repeat):
                plan = child(["plan", env_dir, dump] + ([str(limit)] if limit else []))
                Path(counts).write_text(json.dumps(plan["perStack"]))
                runs["plan"].append(plan)
                runs["floor"].append(child(["floor", counts]))
                runs["floor-uv"].append(child(["floor-uv", counts]))
                runs["same"].append(child(["floor-same", counts, dump]))
                runs["typed"].append(child(["typed", dump]))
            rows.append((label, runs))
            print(f"... {label}: done", file=sys.stderr, flush=True)
        val = child(["validate", "inventories/example"])

    def ms(run: dict) -> float:
        return run["cpu"] * 1000 / run["resources"]

    print("floor = trivial program, same number of runs and resources, tiny inputs, stock MockMonitor, on the stdlib")
    print("        event loop (fl/uv: on uvloop, which the plan runs on); ratio = plan / the lower of the two")
    print("same  = the same resource types and inputs registered raw (no components, no typed SDK classes), on uvloop,")
    print("        echoes answered with the request's own bytes as the plan does: the least any program registering them pays")
    print("typed = the same resources through pulumi-kubernetes' typed classes, flat (no components, parents or")
    print("        dependencies), run by the plan's own runner (the plan itself registers through components/kube_objects)")
    print(f"ms/res = CPU milliseconds per resource (process time, all threads; wall seconds beside the plan); "
          f"best of {a.repeat} runs each")
    print(f"{'scenario':34} {'stacks':>6} {'resources':>9} {'wall s':>7} {'cpu s':>7} {'ms/res':>7} {'floor':>7} {'fl/uv':>7} {'ratio':>6} "
          f"{'same':>7} {'ratio':>6} {'typed':>7} {'ratio':>6} {'peak MB':>8} {'floor MB':>8}")
    best, floors = {}, {}
    for label, runs in rows:
        b = {k: min(v, key=lambda r: r["cpu"]) for k, v in runs.items()}
        best[label] = b
        plan, peak = b["plan"], max(r["rssMb"] for r in runs["plan"])
        floor = floors[label] = min(ms(b["floor"]), ms(b["floor-uv"]))
        print(f"{label:34} {plan['stacks']:>6} {plan['resources']:>9} {plan['seconds']:>7.2f} {plan['cpu']:>7.2f} {ms(plan):>7.3f} "
              f"{ms(b['floor']):>7.3f} {ms(b['floor-uv']):>7.3f} {ms(plan) / floor:>5.2f}x {ms(b['same']):>7.3f} {ms(plan) / ms(b['same']):>5.2f}x "
              f"{ms(b['typed']):>7.3f} {ms(plan) / ms(b['typed']):>5.2f}x {peak:>8.0f} {max(r['rssMb'] for r in runs['floor']):>8.0f}")
    for label, b in best.items():
        floor = floors[label]
        same, target = ms(b["same"]) / floor, 1.5
        verdict = ("met" if ms(b["plan"]) / floor <= target else
                   "not met; the same inputs registered raw already cost " + f"{same:.2f}x the floor"
                   + (", above the target by themselves" if same > target else ""))
        print(f"  {label}: target plan/floor <= {target}x: {verdict}")
    for label, runs in rows:
        rounds = " ".join(f"{ms(p) / min(ms(f), ms(u)):.2f}" for p, f, u in zip(runs["plan"], runs["floor"], runs["floor-uv"]))
        print(f"  {label}: plan/floor per round: {rounds}")
    rows = [(label, best[label]["plan"]) for label, _ in rows]
    small, big = rows[1][1], rows[2][1]
    print(f"(load average while measuring: {', '.join(f'{x:.1f}' for x in __import__('os').getloadavg())}; figures on a busy machine inflate)")
    growth = (big["cpu"] / big["resources"]) / (small["cpu"] / small["resources"])
    print(f"growth: CPU ms/resource at {big['stacks']} stacks / at {small['stacks']} stacks = {growth:.2f} (1.00 = linear)")
    print(f"schema validation, {val['manifests']} manifests of the example estate: {val['cached'] * 1000:.0f} ms with "
          f"{val['validators']} cached validators vs ~{val['naive'] * 1000:.0f} ms calling kubernetes_validate.validate() "
          f"per manifest ({val['naive'] / val['cached']:.0f}x)")


if __name__ == "__main__":
    main()
