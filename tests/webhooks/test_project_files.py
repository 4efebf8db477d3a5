"""The receiver's settings agree across the code, meltano.yml and docs/webhooks.md."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from tap_deel.webhooks import config

ROOT = Path(__file__).resolve().parents[2]
VARIABLES = sorted(
    value
    for name, value in vars(config).items()
    if name.isupper() and isinstance(value, str) and value.startswith(config.PREFIX)
    and value != config.PREFIX
)  # fmt: skip


def test_every_variable_is_a_meltano_setting_of_the_utility() -> None:
    meltano = yaml.safe_load((ROOT / "meltano.yml").read_text())
    (utility,) = [u for u in meltano["plugins"]["utilities"] if u["name"] == "deel-webhooks"]
    assert utility["executable"] == "deel-webhooks"
    assert utility["pip_url"].split()[:2] == ["-e", "${MELTANO_PROJECT_ROOT}/tap-deel[webhooks]"]
    # Meltano passes setting `x` of plugin `deel-webhooks` as DEEL_WEBHOOKS_X.
    declared = sorted(config.PREFIX + s["name"].upper() for s in utility["settings"])
    assert declared == VARIABLES
    secret = {s["name"] for s in utility["settings"] if s.get("sensitive")}
    assert secret == {"signing_key"}
    assert all(s.get("label") and s.get("description") for s in utility["settings"])


def test_every_variable_is_in_the_docs_settings_table() -> None:
    text = (ROOT / "docs" / "webhooks.md").read_text()
    in_table = sorted(set(re.findall(r"^\| `(DEEL_WEBHOOKS_[A-Z_]+)` \|", text, re.MULTILINE)))
    assert in_table == VARIABLES


def test_the_console_script_and_extra_are_declared() -> None:
    pyproject = (ROOT / "tap-deel" / "pyproject.toml").read_text()
    assert 'deel-webhooks = "tap_deel.webhooks.cli:main"' in pyproject
    for package in ("uvicorn", "starlette", "filelock", "prometheus-client"):
        assert re.search(rf'"{package}~=[0-9.]+"', pyproject), package
    assert '-e "./tap-deel[webhooks]"' in (ROOT / "Makefile").read_text()
