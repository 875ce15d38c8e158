"""Benchmark: `idcpilot bundle build`, warm and cached (and cold when asked for).

    python bench/bench_bundle.py [--only COMPONENT ...] [--cold]

Every run builds into a fresh temporary bundle root and cache (the product's own bundle under
/var/cache/idcpilot is not touched), through the real command:

  warm    a first build into the empty root, with Go's build cache (GOCACHE) as the machine has it:
          after one earlier build of the same release that is compile-cache hits plus linking, the
          time a second bundle root (or a lost one) costs
  cached  the same command again: nothing to build, every file re-hashed against its stamp
  cold    only with --cold (or IDCPILOT_BENCH_COLD=1): GOCACHE pointed at an empty temporary
          directory, so every package is compiled; Kubernetes alone takes tens of minutes on two
          cores. The module cache stays (a cold proxy download is the network's time, not ours).

Printed: seconds per component and per binary, and the total of each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IDCPILOT = str(Path(sys.executable).parent / "idcpilot")


def build(root: Path, only: list[str], env: dict[str, str] | None = None) -> dict:
    args = [IDCPILOT, "bundle", "build", "-k", "1.37.2", "--out", str(root / "out"), "--cache", str(root / "cache"), "-f", "json"]
    for c in only:
        args += ["--only", c]
    done = subprocess.run(args, cwd=HERE.parent, stdout=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise SystemExit(f"bundle build failed (exit {done.returncode}); see the lines above")
    return json.loads(done.stdout)


def show(name: str, result: dict) -> None:
    print(f"\n{name}: {result['totalSeconds']:.1f} s total; built {', '.join(result['built']) or 'nothing'}; "
          f"cached {', '.join(result['cached']) or 'nothing'}; {result['files']} files", flush=True)
    for key, seconds in sorted(result["seconds"].items()):
        print(f"  {key:45} {seconds:8.1f} s")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", default=[], metavar="COMPONENT", help="kubernetes, etcd, cri-tools, kwok (default all)")
    ap.add_argument("--cold", action="store_true", default=os.environ.get("IDCPILOT_BENCH_COLD") == "1",
                    help="also a cold build with an empty GOCACHE (tens of minutes)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-bundle-") as tmp:
        base = Path(tmp)
        if args.cold:
            gocache = base / "gocache"
            gocache.mkdir()
            show("cold (empty GOCACHE)", build(base / "cold", args.only, {"GOCACHE": str(gocache)}))
        show("warm (machine GOCACHE, empty bundle root)", build(base / "run", args.only))
        show("cached (second build, same root)", build(base / "run", args.only))
        if not args.cold:
            print("\ncold build not measured: --cold or IDCPILOT_BENCH_COLD=1 (tens of minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
