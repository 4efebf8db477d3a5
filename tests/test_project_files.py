"""The project files agree with the code: meltano.yml and the settings tables in the docs.

A setting added to a plugin but not to meltano.yml is invisible to `meltano config`; a settings
table that drifted from `--about` misleads the administrator reading it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from tap_deel.tap import TapDeel
from target_jumpcloud.target import TargetJumpCloud

from tests.update_docs import (
    DEVELOPMENT_DOC,
    LAYOUT_MARKERS,
    SETTINGS_DOC,
    about,
    layout_table,
    modules_on_disk,
    settings_table,
)

ROOT = Path(__file__).resolve().parent.parent
MELTANO_YML = yaml.safe_load((ROOT / "meltano.yml").read_text())
README = (ROOT / "README.md").read_text()
PLUGINS: dict[str, tuple[str, Any]] = {
    "tap-deel": ("extractors", TapDeel),
    "target-jumpcloud": ("loaders", TargetJumpCloud),
}
# Meltano's setting kinds for each JSON-schema type the plugins use.
KINDS = {
    "string": "string",
    "integer": "integer",
    "number": "decimal",
    "boolean": "boolean",
    "array": "array",
    "object": "object",
}


def meltano_plugin(plugin: str) -> dict[str, Any]:
    kind, _ = PLUGINS[plugin]
    return next(p for p in MELTANO_YML["plugins"][kind] if p["name"] == plugin)


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_every_setting_is_declared_in_meltano_yml_with_the_same_secrecy(plugin: str) -> None:
    settings = json.loads(about(plugin, "json"))["settings"]["properties"]
    declared = {s["name"]: s for s in meltano_plugin(plugin)["settings"]}
    assert sorted(declared) == sorted(settings)
    for name, schema in settings.items():
        assert bool(declared[name].get("sensitive")) == bool(schema.get("secret")), name
        assert "kind: password" not in str(declared[name]), "deprecated kind; use sensitive"
        types = [t for t in schema.get("type", []) if t != "null"]
        if declared[name].get("kind") == "options":
            assert types == ["string"], name
        elif types:
            assert declared[name].get("kind") == KINDS[types[0]], name
        assert declared[name].get("label"), f"{name} has no label"
        assert declared[name].get("description"), f"{name} has no description"


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_meltano_yml_capabilities_match_about(plugin: str) -> None:
    capabilities = json.loads(about(plugin, "json"))["capabilities"]
    assert sorted(meltano_plugin(plugin)["capabilities"]) == sorted(capabilities)


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_plugin_is_installed_from_this_repository(plugin: str) -> None:
    declared = meltano_plugin(plugin)
    assert declared["namespace"] == plugin.replace("-", "_")
    assert declared["pip_url"].split()[:2] == ["-e", f"${{MELTANO_PROJECT_ROOT}}/{plugin}"]
    assert declared["executable"] == plugin


def test_job_and_schedule_name_existing_plugins() -> None:
    plugins = {p["name"] for kind in MELTANO_YML["plugins"].values() for p in kind}
    jobs = {job["name"]: job for job in MELTANO_YML["jobs"]}
    assert "deel-to-jumpcloud" in jobs
    for job in jobs.values():
        for task in job["tasks"]:
            for name in task.split():
                assert name in plugins, f"job {job['name']} names unknown plugin {name}"
    schedules = {s["name"]: s for s in MELTANO_YML["schedules"]}
    nightly = schedules["nightly-deel-to-jumpcloud"]
    assert nightly["job"] in jobs
    minute, hour, *rest = nightly["interval"].split()
    assert minute.isdigit(), "at a fixed minute"
    assert hour.isdigit(), "at a fixed hour"
    assert rest == ["*", "*", "*"], "every night"


def test_the_sync_selects_the_worker_stream() -> None:
    assert meltano_plugin("tap-deel")["select"] == ["people.*"]


def test_environments_keep_secrets_out_of_meltano_yml() -> None:
    names = {env["name"]: env for env in MELTANO_YML["environments"]}
    assert {"dev", "prod"} <= set(names)
    text = (ROOT / "meltano.yml").read_text()
    assert "api_token:" not in text
    assert "api_key:" not in text
    for env in names.values():
        for kind in env.get("config", {}).get("plugins", {}).values():
            for plugin in kind:
                if "api_url" not in plugin.get("config", {}):
                    continue  # e.g. target-duckdb: a file, no API
                url = plugin["config"]["api_url"]
                if env["name"] == "dev":
                    assert url.startswith("http://127.0.0.1:")
                else:
                    assert url.startswith("https://")


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_settings_doc_table_is_what_about_prints(plugin: str) -> None:
    page = SETTINGS_DOC.read_text()
    begin, end = f"<!-- {plugin} settings: begin -->", f"<!-- {plugin} settings: end -->"
    assert begin in page
    assert end in page
    in_doc = page.split(begin, 1)[1].split(end, 1)[0].strip()
    assert in_doc == settings_table(plugin), (
        f"docs/settings.md's {plugin} settings table drifted from --about: run `make docs`"
    )


def test_the_development_page_shows_the_layout_as_it_is() -> None:
    begin, end = LAYOUT_MARKERS
    in_doc = DEVELOPMENT_DOC.read_text().split(begin, 1)[1].split(end, 1)[0].strip()
    assert in_doc == layout_table(), "docs/development.md's layout drifted: run `make docs`"
    listed = set(re.findall(r"^\| `(\w+)[.\w]*` \| \d+ \| `([^`]+)` \|", in_doc, re.MULTILINE))
    shown = {f"{package}:{module}" for package, module in listed}
    assert modules_on_disk() - {"tap_deel:__init__.py", "target_jumpcloud:__init__.py"} <= shown


def test_readme_shows_the_two_commands_first() -> None:
    first_commands = re.findall(r"^make (\w+)", README, re.MULTILINE)[:2]
    assert sorted(first_commands) == ["demo", "test"]


def test_env_example_names_the_secrets_without_values() -> None:
    lines = [
        line
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    names = {line.split("=", 1)[0] for line in lines}
    assert {"TAP_DEEL_API_TOKEN", "TARGET_JUMPCLOUD_API_KEY"} <= names
    assert all(line.endswith("=") for line in lines), "no values in .env.example"
    ignored = (ROOT / ".gitignore").read_text().split()
    assert ".env" in ignored
