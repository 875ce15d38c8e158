"""The Pulumi engine's recipe (versions.yaml ``pulumi:``) and the pure parts of pulumi_engine: the
versions agree with the Python SDK pins, the wrapper carries upstream's replaces, the cache key
follows every input, and the environment never lets pulumi download a plugin."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from idcpilot.bundle import pulumi_engine, stamps, versions, wrapper

REPO = Path(__file__).resolve().parents[2]


def _pins() -> dict[str, str]:
    pins = {}
    for line in (REPO / "requirements.txt").read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.-]+)==(\S+)$", line.strip()):
            pins[m.group(1).lower().replace("-", "_")] = m.group(2)
    return pins


def test_the_engine_is_the_version_of_the_python_sdks_it_runs():
    data = versions.load().pulumi
    pins = _pins()
    assert data["cli"].version == pins["pulumi"], "the CLI and language host must match the pulumi SDK exactly"
    assert data["cli"].modules["github.com/pulumi/pulumi/pkg/v3"] == f"v{pins['pulumi']}"
    assert data["cli"].modules["github.com/pulumi/pulumi/sdk/v3"] == f"v{pins['pulumi']}"
    assert data["resource-kubernetes"].version == pins["pulumi_kubernetes"], "the SDK asks for the plugin it was generated for"
    assert data["resource-kubernetes"].plugin == versions.PluginName(kind="resource", name="kubernetes")
    for pin in ("pulumi", "pulumi-kubernetes"):
        assert re.search(rf"^{pin}==", (REPO / "requirements.in").read_text(), re.M)


def test_the_cli_part_holds_the_language_host_and_the_scripts_beside_pulumi():
    cli = versions.load().pulumi["cli"]
    assert cli.binaries == {"pulumi": "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi",
                            "pulumi-language-python": "./cmd/pulumi-language-python"}
    assert set(cli.scripts) == {"pulumi-language-python-exec", "pulumi-resource-pulumi-python", "pulumi-analyzer-policy-python"}
    assert pulumi_engine.LANGHOST_SOURCE.is_file()
    assert "pulumi.policy" in pulumi_engine.ANALYZER_POLICY_PYTHON


@pytest.mark.parametrize("bad", [
    {"binaries": {"pulumi": "../cmd/pulumi"}},
    {"modules": {"github.com/pulumi/pulumi/pkg/v3": "3.260.0"}},
    {"scripts": {"x": "github.com/pulumi/pulumi/sdk/v3:../../etc/passwd"}},
    {"version": "v3.260.0"},
    {"source": "download"},
])
def test_a_broken_recipe_is_refused(bad):
    good = versions.load().pulumi["cli"].model_dump(by_alias=True)
    with pytest.raises(ValueError):
        versions.EngineComponent.model_validate({**good, **bad})


def test_the_wrapper_carries_upstream_replaces_and_pins_the_sibling_modules():
    upstream = wrapper.read_upstream(
        "module github.com/pulumi/pulumi/pkg/v3\n\ngo 1.26.6\n\nreplace github.com/pulumi/pulumi/sdk/v3 => ../sdk\n\n"
        "replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e\n")
    assert upstream.remote_replaces == ("github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e",)
    assert upstream.staging == ()
    text = wrapper.wrapper_gomod("idcpilot.invalid/bundle/pulumi-cli", {"github.com/pulumi/pulumi/pkg/v3": "v3.260.0"},
                                 ["github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"], upstream,
                                 replaces={"github.com/pulumi/pulumi-kubernetes/sdk/v4": "v4.29.0"})
    assert "\tgithub.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e" in text
    assert "\tgithub.com/pulumi/pulumi-kubernetes/sdk/v4 => github.com/pulumi/pulumi-kubernetes/sdk/v4 v4.29.0" in text
    assert "../sdk" not in text and "go 1.26.6" in text
    local_only = wrapper.wrapper_gomod("m", {"a.b/c": "v1.0.0"}, [])
    assert "tool" not in local_only and local_only.endswith(")\n")


def test_the_key_follows_the_recipe_and_the_language_host_source(monkeypatch, tmp_path):
    data = versions.load()
    cli = data.pulumi["cli"]
    key = stamps.build_key("pulumi-cli", cli.version, "go1.26.8", "", pulumi_engine.key_inputs(data, "cli", cli))
    other = cli.model_copy(update={"ldflags": []})
    assert stamps.build_key("pulumi-cli", cli.version, "go1.26.8", "", pulumi_engine.key_inputs(data, "cli", other)) != key
    src = tmp_path / "main.go"
    src.write_text("package main\n")
    monkeypatch.setattr(pulumi_engine, "LANGHOST_SOURCE", src)
    assert stamps.build_key("pulumi-cli", cli.version, "go1.26.8", "", pulumi_engine.key_inputs(data, "cli", cli)) != key
    assert "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v3.260.0" in pulumi_engine.ldflags(data, cli)


def test_nothing_is_found_in_an_empty_cache_and_ensure_without_build_says_what_is_missing(tmp_path):
    assert pulumi_engine.find(tmp_path) is None


def test_the_environment_puts_the_engine_first_and_turns_downloads_off(tmp_path):
    engine = pulumi_engine.Engine(tmp_path, tmp_path / "cli" / "pulumi", (tmp_path / "cli",), (), {})
    env = pulumi_engine.environment(engine, tmp_path / "home", {"PATH": "/usr/bin", "PULUMI_HOME": "/elsewhere"})
    assert env["PATH"] == f"{tmp_path / 'cli'}:/usr/bin" and env["PULUMI_HOME"] == str(tmp_path / "home")
    assert env["PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"] == "true" and env["PULUMI_SKIP_UPDATE_CHECK"] == "true"
