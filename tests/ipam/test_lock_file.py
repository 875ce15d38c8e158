"""``ipam apply`` handles the lock like a user's file: through symlinks, keeping mode and owner,
atomically, never dropping a person's comments unasked, and exit 2 where it cannot write."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from idcpilot.errors import UserInputError
from idcpilot.ipam import Lock, read_lock
from idcpilot.ipam.lock import HEADER, comment_lines
from idcpilot.yamlsource import load_yaml_text
from tests.adversarial.hostile import REPO, idcpilot, output

LOCK = "ipam.lock.yaml"
NOBODY = 65534


def add_host(env: Path) -> None:
    """One more CDN node in the lab estate: apply has something to write."""
    text = (env / "estate.yaml").read_text()
    new = text.replace("        - name: lab-gz-cdn01\n", "        - name: lab-gz-cdn02\n          roles: [baseline, cdn_node]\n        - name: lab-gz-cdn01\n", 1)
    assert new != text
    (env / "estate.yaml").write_text(new)


@pytest.fixture
def env(tmp_path: Path) -> Path:
    dst = tmp_path / "lab"
    shutil.copytree(REPO / "inventories" / "lab", dst)
    add_host(dst)
    return dst


@pytest.fixture
def shared() -> Iterator[Path]:
    """A lab estate in a directory another user can reach (pytest's tmp_path is private to root)."""
    top = Path(tempfile.mkdtemp(prefix="ipam-lock-"))
    try:
        top.chmod(0o755)
        dst = top / "lab"
        shutil.copytree(REPO / "inventories" / "lab", dst)
        add_host(dst)
        for p in [dst, *dst.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        yield dst
    finally:
        for p in [top, *top.rglob("*")]:
            if p.is_dir():
                p.chmod(0o755)
        shutil.rmtree(top)


def as_nobody() -> list[str]:
    """Run a command as an unprivileged user: root ignores file permissions."""
    if os.getuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is needed to drop root for this test")
    return [setpriv, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def run_as_nobody(*args: str | Path):  # type: ignore[no-untyped-def]
    from tests.adversarial.hostile import IDCPILOT, run

    return run([*as_nobody(), IDCPILOT, *map(str, args)])


def test_apply_writes_through_a_symlink_and_keeps_the_link(env: Path, tmp_path: Path) -> None:
    store = tmp_path / "elsewhere"
    store.mkdir()
    (env / LOCK).rename(store / "lab.lock.yaml")
    (env / LOCK).symlink_to(Path("..") / "elsewhere" / "lab.lock.yaml")
    proc = idcpilot("ipam", "apply", env)
    assert proc.returncode == 0, output(proc)
    assert (env / LOCK).is_symlink(), "the link was replaced by a regular file"
    assert "lab-gz-cdn02:" in (store / "lab.lock.yaml").read_text()
    assert not [p for p in store.iterdir() if p.name != "lab.lock.yaml"], "a temporary file was left behind"
    assert idcpilot("ipam", "plan", env, "--detailed-exitcode").returncode == 0


def test_apply_keeps_mode_and_owner(env: Path) -> None:
    lock = env / LOCK
    if os.getuid() == 0:
        os.chown(lock, NOBODY, NOBODY)
    lock.chmod(0o444)
    before = lock.stat()
    proc = idcpilot("ipam", "apply", env)
    assert proc.returncode == 0, output(proc)
    after = lock.stat()
    assert stat.S_IMODE(after.st_mode) == 0o444
    assert (after.st_uid, after.st_gid) == (before.st_uid, before.st_gid)
    assert after.st_ino != before.st_ino, "replaced atomically (a new inode), not rewritten in place"
    assert "lab-gz-cdn02:" in lock.read_text()


def test_new_lock_gets_the_usual_mode(env: Path) -> None:
    (env / LOCK).unlink()
    proc = idcpilot("ipam", "apply", env)
    assert proc.returncode == 0, output(proc)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE((env / LOCK).stat().st_mode) == 0o666 & ~umask


def test_apply_refuses_to_drop_a_persons_comments_unless_told(env: Path) -> None:
    lock = env / LOCK
    text = lock.read_text().replace("  lab-bj:\n", "  lab-bj:  # racks 4-7, do not renumber (ticket OPS-88)\n", 1)
    lock.write_text(text)
    line = next(i for i, l in enumerate(text.splitlines(), start=1) if "OPS-88" in l)
    proc = idcpilot("ipam", "apply", env)
    assert proc.returncode == 2, output(proc)
    assert f"{LOCK}:{line}:" in output(proc) and "--discard-comments" in output(proc)
    assert lock.read_text() == text
    # plan reads the commented file (through the YAML loader) and shows the same changes
    plan = idcpilot("ipam", "plan", env, "--detailed-exitcode")
    assert plan.returncode == 3 and "+ host/lab-gz-cdn02 management" in plan.stdout, output(plan)
    proc = idcpilot("ipam", "apply", env, "--discard-comments")
    assert proc.returncode == 0, output(proc)
    written = lock.read_text()
    assert "OPS-88" not in written and written.startswith(HEADER)
    assert "comments are not kept" in HEADER.lower()


def test_the_generated_header_is_not_a_persons_comment() -> None:
    assert comment_lines(Lock().dump()) == []
    assert comment_lines((REPO / "inventories" / "example" / LOCK).read_text()) == []


def test_unwritable_directory_is_exit_2_without_a_traceback(shared: Path) -> None:
    shared.chmod(0o555)
    if os.getuid() == 0:
        os.chown(shared / LOCK, NOBODY, NOBODY)
    before = (shared / LOCK).read_bytes()
    proc = run_as_nobody("ipam", "apply", shared)
    assert proc.returncode == 2, output(proc)
    assert "cannot write in" in output(proc) and "Permission denied" in output(proc)
    assert (shared / LOCK).read_bytes() == before


def test_unwritable_lock_is_exit_2_without_a_traceback(shared: Path) -> None:
    if os.getuid() == 0:
        os.chown(shared, NOBODY, NOBODY)
    (shared / LOCK).chmod(0o444)  # owned by root, read-only: nobody may not replace it
    before = (shared / LOCK).read_bytes()
    proc = run_as_nobody("ipam", "apply", shared)
    assert proc.returncode == 2, output(proc)
    assert "not writable by this user" in output(proc) and f"{LOCK}:" in output(proc)
    assert (shared / LOCK).read_bytes() == before
    assert [p.name for p in shared.iterdir() if p.name.startswith(".")] == []


def test_the_canonical_reader_and_the_yaml_loader_agree() -> None:
    """The line reader is only a fast path: on the bundled locks it gives what the loader gives."""
    from idcpilot.ipam.lock import _read_canonical

    for env in ("example", "lab"):
        text = (REPO / "inventories" / env / LOCK).read_text()
        fast = _read_canonical(text, LOCK)
        assert fast is not None, f"{env}: the bundled lock is not in the canonical layout"
        slow = load_yaml_text(text, LOCK)
        assert fast[0] == slow[0]
        assert slow[1].positions and all(fast[1].locate(path) == where for path, where in slow[1].positions.items())
        assert fast[1].locate(("hosts", "no-such-host", "management")) == slow[1].locate(("hosts", "no-such-host", "management"))


@pytest.mark.parametrize("text", [
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  h1:\n  h2:\n    management: 10.0.0.5\n",  # h1: null
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  yes:\n    management: 10.0.0.5\n",  # a boolean key
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  h1:\n    management: 10.0.0.5\n  h1:\n    management: 10.0.0.6\n",
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  h1:\n    management: 10.0.0.5 # note\n",
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts: {h1: {management: 10.0.0.5}}\n",
    "apiVersion: idcpilot/v1\r\nkind: IpamLock\r\nhosts:\r\n  h1:\r\n    management: 10.0.0.5\r\n",
    # a line break YAML sees inside what looks like a comment: the rest of that line is data
    "apiVersion: idcpilot/v1\nkind: IpamLock\n# note\u2028hosts:\n  h1:\n    management: 10.0.0.5\n",
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  h1:\n    management: 10.0.0.5\n  h2:\n    management: 10.0.0.6 x\n",
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  h1:\n    management: 10.0.0.5\n    management: 10.0.0.6\n",
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  h1: 10.0.0.5\n",
    "apiVersion: idcpilot/v1\nkind: IpamLock\nhosts:\n  1.5:\n    management: 10.0.0.5\n",  # a float key
])
def test_anything_but_the_canonical_layout_goes_through_the_loader(tmp_path: Path, text: str) -> None:
    from idcpilot.ipam.lock import _read_canonical

    assert _read_canonical(text, LOCK) is None
    (tmp_path / LOCK).write_text(text)
    try:
        expected: object = yaml.safe_load(text)["hosts"]
    except yaml.YAMLError:  # pragma: no cover
        expected = None
    try:
        got: object = read_lock(tmp_path).hosts
    except UserInputError as exc:
        got = "error"
        assert all(p.file == str(tmp_path / LOCK) and p.line >= 1 for p in exc.problems)
    if got != "error":
        assert got == {str(k): v for k, v in expected.items()}  # type: ignore[union-attr]
