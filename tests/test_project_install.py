"""A fresh clone installs the same versions every time, and its documented jobs run as cloned.

The constraints files (`constraints/*.txt`, written by `make constraints`) must pin every
dependency the pyprojects declare, at a version the declaration allows: a dependency added or
changed without regenerating them fails here. And `meltano run deel-to-duckdb` must work in a
copy of exactly what a clone holds, with the project's own DuckDB path (no override): DuckDB
cannot create the folder of its file, so that folder has to come with the clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import DEEL_TOKEN
from tests.e2e.conftest import deel  # noqa: F401 - the end-to-end runs' seeded Deel organisation
from tests.e2e.test_duckdb import endpoint_counts, read_load
from tests.e2e.test_meltano import meltano_executable

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator

ROOT = Path(__file__).resolve().parent.parent
PROJECT_CONSTRAINTS = ROOT / "constraints" / "project.txt"
MELTANO_CONSTRAINTS = ROOT / "constraints" / "meltano.txt"
MELTANO_YML = yaml.safe_load((ROOT / "meltano.yml").read_text(encoding="utf-8"))
PROJECT_ROOT_VAR = "${MELTANO_PROJECT_ROOT}"


# -- the constraints files ---------------------------------------------------------------------


def pyproject(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def dependency_group(name: str) -> list[str]:
    """The root pyproject's group `name`, its `include-group` entries expanded."""
    groups = pyproject(ROOT / "pyproject.toml")["dependency-groups"]
    found: list[str] = []
    for entry in groups[name]:
        included = isinstance(entry, dict)
        found.extend(dependency_group(entry["include-group"]) if included else [entry])
    return found


def project_requirements() -> dict[str, list[str]]:
    """What `make install` installs: both plugins, tap-deel's webhooks extra, the dev group."""
    tap = pyproject(ROOT / "tap-deel" / "pyproject.toml")["project"]
    target = pyproject(ROOT / "target-jumpcloud" / "pyproject.toml")["project"]
    return {
        "tap-deel/pyproject.toml": tap["dependencies"],
        "tap-deel/pyproject.toml [webhooks]": tap["optional-dependencies"]["webhooks"],
        "target-jumpcloud/pyproject.toml": target["dependencies"],
        "pyproject.toml [dev]": dependency_group("dev"),
    }


def pins(path: Path) -> dict[str, list[Requirement]]:
    """Each package's pins in a constraints file (more than one where markers split them)."""
    found: dict[str, list[Requirement]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        pin = Requirement(line)
        specs = list(pin.specifier)
        assert len(specs) == 1, f"{path.name}:{number}: not one exact version: {raw}"
        assert specs[0].operator == "==", f"{path.name}:{number}: not an exact pin: {raw}"
        assert not pin.extras, f"{path.name}:{number}: pip refuses extras in constraints: {raw}"
        assert pin.url is None, f"{path.name}:{number}: a URL, not a version: {raw}"
        found.setdefault(canonicalize_name(pin.name), []).append(pin)
    return found


def applies_here(requirement: Requirement, extra: str = "") -> bool:
    marker = requirement.marker
    return marker is None or marker.evaluate({"extra": extra})


def unpinned(declared: dict[str, list[str]], pinned: dict[str, list[Requirement]]) -> list[str]:
    """Each declared requirement whose package has no pin, or no pin its specifier allows."""
    problems = []
    for source, requirements in declared.items():
        for text in requirements:
            requirement = Requirement(text)
            if not applies_here(requirement):
                continue
            name = canonicalize_name(requirement.name)
            here = [pin for pin in pinned.get(name, []) if applies_here(pin)]
            if not here:
                problems.append(f"{text} ({source}) has no pin")
                continue
            version = Version(str(here[0].specifier).removeprefix("=="))
            if not requirement.specifier.contains(version, prereleases=True):
                problems.append(f"{text} ({source}) is pinned at {version}, outside its range")
    return problems


def extras_requirements(declared: dict[str, list[str]]) -> dict[str, list[str]]:
    """What the declared extras (`singer-sdk[msgspec]`) bring, from the installed metadata."""
    brought: dict[str, list[str]] = {}
    for source, requirements in declared.items():
        for text in requirements:
            requirement = Requirement(text)
            for extra in sorted(requirement.extras):
                wanted = brought.setdefault(f"{requirement.name}[{extra}] ({source})", [])
                for line in metadata.requires(requirement.name) or []:
                    dependency = Requirement(line)
                    marker = str(dependency.marker or "")
                    if "extra" in marker and applies_here(dependency, extra):
                        wanted.append(str(dependency))
    return brought


REGENERATE = "run `make constraints` and commit constraints/"


def test_the_project_constraints_pin_every_declared_dependency() -> None:
    problems = unpinned(project_requirements(), pins(PROJECT_CONSTRAINTS))
    assert not problems, f"constraints/project.txt is stale ({REGENERATE}): " + "; ".join(problems)


def test_the_project_constraints_pin_what_the_declared_extras_bring() -> None:
    brought = extras_requirements(project_requirements())
    assert any(brought.values()), "singer-sdk[msgspec] brings msgspec"
    problems = unpinned(brought, pins(PROJECT_CONSTRAINTS))
    assert not problems, f"constraints/project.txt is stale ({REGENERATE}): " + "; ".join(problems)


def test_the_meltano_constraints_pin_the_meltano_group() -> None:
    declared = {"pyproject.toml [meltano]": dependency_group("meltano")}
    assert declared["pyproject.toml [meltano]"], "the group names Meltano"
    problems = unpinned(declared, pins(MELTANO_CONSTRAINTS))
    assert not problems, f"constraints/meltano.txt is stale ({REGENERATE}): " + "; ".join(problems)


def test_a_dependency_added_without_regenerating_is_found() -> None:
    declared = project_requirements()
    declared["target-jumpcloud/pyproject.toml"] = [
        *declared["target-jumpcloud/pyproject.toml"],
        "a-package-nobody-pinned~=1.0",
        "requests>=999",
    ]
    pinned = pins(PROJECT_CONSTRAINTS)
    requests_pin = str(pinned["requests"][0].specifier).removeprefix("==")
    outside = f"is pinned at {requests_pin}, outside its range"
    assert unpinned(declared, pinned) == [
        "a-package-nobody-pinned~=1.0 (target-jumpcloud/pyproject.toml) has no pin",
        f"requests>=999 (target-jumpcloud/pyproject.toml) {outside}",
    ]


@pytest.mark.parametrize("path", [PROJECT_CONSTRAINTS, MELTANO_CONSTRAINTS], ids=lambda p: p.name)
def test_each_constraints_file_says_how_to_regenerate_it(path: Path) -> None:
    header = path.read_text(encoding="utf-8").splitlines()[:3]
    assert any(line.strip() == "#    make constraints" for line in header), header


def test_make_passes_the_constraints_to_every_install() -> None:
    """`make -n -B` prints every command of a full install without running one."""
    shown = subprocess.run(
        ["make", "-n", "-B", "install", "meltano-install"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.replace("\\\n", " ")
    installs = [line for line in shown.splitlines() if "pip install" in line]
    packages = [line for line in installs if "--upgrade" not in line]  # not pip's own upgrade
    assert len(packages) == 2, installs
    assert "-c constraints/project.txt" in packages[0], packages[0]
    assert "--group dev" in packages[0], packages[0]
    assert "-c constraints/meltano.txt" in packages[1], packages[1]
    assert "--group meltano" in packages[1], packages[1]


def plugins() -> list[dict[str, Any]]:
    return [plugin for kind in MELTANO_YML["plugins"].values() for plugin in kind]


def test_meltano_installs_this_projects_plugins_with_the_project_constraints() -> None:
    """The plugin venvs under .meltano/ get the versions `make install` tests.

    The plugins from PyPI keep their own pins: target-duckdb's DuckDB 1.0, for one, could not
    install beside the dev group's DuckDB 2.0 pin.
    """
    constraint = f"-c {PROJECT_ROOT_VAR}/constraints/project.txt"
    local = [p for p in plugins() if PROJECT_ROOT_VAR in p.get("pip_url", "")]
    assert {p["name"] for p in local} == {"tap-deel", "target-jumpcloud", "deel-webhooks"}
    for plugin in local:
        assert plugin["pip_url"].endswith(f" {constraint}"), plugin["name"]
    for plugin in plugins():
        if "pip_url" in plugin and plugin not in local:
            assert "constraints/" not in plugin["pip_url"], plugin["name"]


# -- a fresh clone's DuckDB job ------------------------------------------------------------------


def clone_files() -> list[str]:
    """The paths a clone of this working tree holds: tracked files and new ones not ignored."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.fail("this test reads what a clone holds from git: run it in a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def dev_duckdb_path() -> str:
    """target-duckdb's `path` in the `dev` environment, as meltano.yml writes it."""
    dev = next(e for e in MELTANO_YML["environments"] if e["name"] == "dev")
    loaders = dev["config"]["plugins"]["loaders"]
    path: str = next(p for p in loaders if p["name"] == "target-duckdb")["config"]["path"]
    assert path.startswith(f"{PROJECT_ROOT_VAR}/"), path
    return path.removeprefix(f"{PROJECT_ROOT_VAR}/")


@pytest.mark.meltano
def test_deel_to_duckdb_runs_in_a_fresh_clone_with_the_projects_own_path(
    tmp_path: Path,
    deel: EmulatorServer[DeelEmulator],  # noqa: F811 - the fixture imported above
) -> None:
    relative = dev_duckdb_path()
    folder = Path(relative).parent.as_posix()
    clone = tmp_path / "clone"
    for name in clone_files():
        if name == "meltano.yml" or name.startswith(f"{folder}/"):
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    # The plugins `make meltano-install` put in this checkout, so nothing is installed here.
    for venv in ("extractors/tap-deel", "loaders/target-duckdb"):
        installed = ROOT / ".meltano" / venv
        if not installed.is_dir():
            pytest.fail(f".meltano/{venv} is missing: run the tests through `make test`")
        (clone / ".meltano" / venv).parent.mkdir(parents=True, exist_ok=True)
        (clone / ".meltano" / venv).symlink_to(installed, target_is_directory=True)
    database = clone / relative
    assert not database.exists()

    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TARGET_DUCKDB_", "MELTANO_", "TAP_DEEL"))
    }
    env |= {
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": f"{deel.url}/rest/v2",
    }
    result = subprocess.run(
        [meltano_executable(), "run", "--no-install", "deel-to-duckdb"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, (
        f"meltano run deel-to-duckdb fails in a fresh clone ({relative}):\n" + result.stderr[-3000:]
    )
    assert read_load(database).counts == endpoint_counts(deel.app)
