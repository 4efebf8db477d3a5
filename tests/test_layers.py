"""The import rules of `make lint` hold, and they would catch the mistakes they are there for.

`lint-imports` runs in `make lint` on the real tree. These tests copy target-jumpcloud's package,
add one import that the forbidden contract exists to stop (HTTP, Singer or the JumpCloud client
in a pure stage), and check that the same contract fails on the copy, naming the import.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "target-jumpcloud" / "target_jumpcloud"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
PURE_STAGES = ("target_jumpcloud.sync", "target_jumpcloud.plan", "target_jumpcloud.settings")


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    return list(config["tool"]["importlinter"]["contracts"])


def _purity_contract() -> dict[str, Any]:
    forbidden = [c for c in _contracts() if c["type"] == "forbidden"]
    assert len(forbidden) == 1, "one forbidden contract guards the pure stages"
    return forbidden[0]


def test_the_pure_stages_may_import_neither_http_nor_singer_nor_the_client() -> None:
    contract = _purity_contract()
    assert sorted(contract["source_modules"]) == sorted(PURE_STAGES)
    forbidden = set(contract["forbidden_modules"])
    assert {"requests", "singer_sdk", "target_jumpcloud.jumpcloud"} <= forbidden


def _lint_copy(tmp_path: Path, module: str, added_import: str) -> subprocess.CompletedProcess[str]:
    """Run the forbidden contract on a copy of the package with `added_import` in `module`."""
    copy = tmp_path / "target_jumpcloud"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    if module:
        path = copy.joinpath(*module.split(".")[1:]).with_suffix(".py")
        path.write_text(path.read_text("utf-8") + f"\n{added_import}\n", "utf-8")
    contract = _purity_contract()
    quoted = ", ".join(f'"{name}"' for name in contract["forbidden_modules"])
    sources = ", ".join(f'"{name}"' for name in contract["source_modules"])
    (tmp_path / "pyproject.toml").write_text(
        "[tool.importlinter]\n"
        'root_packages = ["target_jumpcloud"]\n'
        "include_external_packages = true\n\n"
        "[[tool.importlinter.contracts]]\n"
        'name = "pure stages"\n'
        'type = "forbidden"\n'
        f"source_modules = [{sources}]\n"
        f"forbidden_modules = [{quoted}]\n",
        "utf-8",
    )
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(tmp_path / "pyproject.toml")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_contract_passes_on_the_package_as_it_is(tmp_path: Path) -> None:
    result = _lint_copy(tmp_path, "", "")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "added_import", "named"),
    [
        ("target_jumpcloud.sync.mapping", "import requests", "requests"),
        ("target_jumpcloud.plan.build", "import singer_sdk", "singer_sdk"),
        (
            "target_jumpcloud.settings.mapping_table",
            "from target_jumpcloud.jumpcloud import client",
            "target_jumpcloud.jumpcloud",
        ),
    ],
)
def test_the_contract_fails_when_a_pure_stage_imports_io(
    tmp_path: Path, module: str, added_import: str, named: str
) -> None:
    result = _lint_copy(tmp_path, module, added_import)
    assert result.returncode != 0, result.stdout
    assert f"is not allowed to import {named}" in result.stdout
