"""The machine's own Debian mirror, read from its apt sources (never written into the repo)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from idcpilot.lab.errors import LabError

APT_DIR = Path("/etc/apt")


@dataclass(frozen=True)
class Source:
    uri: str
    suites: tuple[str, ...]
    components: tuple[str, ...]


@dataclass(frozen=True)
class Mirrors:
    """Upstream URIs the lab's apt proxy forwards to."""

    debian: str
    security: str | None


def parse_one_line(text: str) -> list[Source]:
    """``deb [opts] URI SUITE COMP...`` lines of a sources.list file."""
    out = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line[4:]).split()
        if len(line) >= 2:
            out.append(Source(line[0].rstrip("/"), (line[1],), tuple(line[2:])))
    return out


def parse_deb822(text: str) -> list[Source]:
    """Stanzas of a ``.sources`` file (Types/URIs/Suites/Components; Enabled: no skipped)."""
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.startswith("#"):
                continue
            if raw[:1] in (" ", "\t") and key:
                fields[key] += " " + raw.strip()
                continue
            if ":" in raw:
                key, value = raw.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split() or fields.get("enabled", "yes").lower() == "no":
            continue
        for uri in fields.get("uris", "").split():
            out.append(Source(uri.rstrip("/"), tuple(fields.get("suites", "").split()), tuple(fields.get("components", "").split())))
    return out


def read_sources(apt_dir: Path = APT_DIR) -> list[Source]:
    sources: list[Source] = []
    main = apt_dir / "sources.list"
    if main.is_file():
        sources += parse_one_line(main.read_text(errors="replace"))
    d = apt_dir / "sources.list.d"
    if d.is_dir():
        for f in sorted(d.iterdir()):
            if f.suffix == ".list":
                sources += parse_one_line(f.read_text(errors="replace"))
            elif f.suffix == ".sources":
                sources += parse_deb822(f.read_text(errors="replace"))
    return sources


def pick_mirrors(sources: list[Source], suite: str = "bookworm") -> Mirrors:
    """The machine's Debian mirror (serves SUITE main) and its security mirror, if any."""
    debian = next((s.uri for s in sources if suite in s.suites and "main" in s.components), None)
    security = next((s.uri for s in sources if f"{suite}-security" in s.suites), None)
    if debian is None:
        raise LabError(
            f"no Debian mirror for '{suite} main' in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources; "
            "the lab builds its hosts from the machine's own mirror"
        )
    return Mirrors(debian=debian, security=security)


def machine_mirrors(suite: str = "bookworm", apt_dir: Path = APT_DIR) -> Mirrors:
    return pick_mirrors(read_sources(apt_dir), suite)
