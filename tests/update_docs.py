"""`make docs`: paste the generated parts of the docs in place.

- each plugin's `--about --format=markdown` settings table into docs/settings.md (between the
  `<!-- PLUGIN settings: begin/end -->` markers);
- the hints table of target-jumpcloud (`output/hints.py`) into docs/alerts.md (between
  `<!-- hints: begin/end -->`);
- each plugin's layout (its stages in import-linter's layer order, every module with the
  first line of its docstring) into docs/development.md (between `<!-- layout: begin/end -->`).

tests/test_project_files.py fails when a page and the code disagree; this rewrites the blocks
so they agree again.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DOC = ROOT / "docs" / "settings.md"
DEVELOPMENT_DOC = ROOT / "docs" / "development.md"
ALERTS_DOC = ROOT / "docs" / "alerts.md"
LAYOUT_MARKERS = ("<!-- layout: begin -->", "<!-- layout: end -->")
HINTS_MARKERS = ("<!-- hints: begin -->", "<!-- hints: end -->")
SOURCES = {"tap_deel": ROOT / "tap-deel", "target_jumpcloud": ROOT / "target-jumpcloud"}
PLUGINS = ("tap-deel", "target-jumpcloud")


def about(plugin: str, fmt: str) -> str:
    """What the plugin's CLI prints for `--about --format=fmt` (no network, no config)."""
    return subprocess.run(
        [sys.executable, "-m", plugin.replace("-", "_"), "--about", f"--format={fmt}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout


def settings_table(plugin: str) -> str:
    """The table under `## Settings` in the plugin's markdown about page."""
    match = re.search(r"## Settings\n\n(\|.*?\n)\n", about(plugin, "markdown"), re.DOTALL)
    if match is None:
        raise SystemExit(f"{plugin} --about printed no settings table")
    return match.group(1).strip()


def _contract_layers() -> dict[str, list[list[str]]]:
    """Container -> its layers (each a list of sibling names), from the import-linter config."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    layers: dict[str, list[list[str]]] = {}
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] != "layers":
            continue
        for container in contract["containers"]:
            layers[container] = [
                [name.strip() for name in layer.split("|")] for layer in contract["layers"]
            ]
    return layers


def _summary(path: Path) -> str:
    """The first line of a module's (or package's) docstring."""
    doc = ast.get_docstring(ast.parse(path.read_text("utf-8"))) or ""
    return doc.split("\n", 1)[0].strip()


def _module_path(dotted: str) -> Path:
    top = dotted.split(".", 1)[0]
    base = SOURCES[top].joinpath(*dotted.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def layout_table() -> str:
    """Every module of both plugins, top layer first, with what it is for."""
    layers = _contract_layers()
    rows = ["| Package | Layer | Module | What it is for |", "|---|---|---|---|"]

    def walk(container: str, prefix: str) -> None:
        for depth, layer in enumerate(layers[container], start=1):
            for name in layer:
                dotted = f"{container}.{name}"
                shown = (
                    f"{prefix}{name}/"
                    if _module_path(dotted).name == "__init__.py"
                    else (f"{prefix}{name}.py")
                )
                rows.append(
                    f"| `{container}` | {depth} | `{shown}` | {_summary(_module_path(dotted))} |"
                )
                if dotted in layers:
                    walk(dotted, f"{prefix}{name}/")

    for package in SOURCES:
        walk(package, "")
    return "\n".join(rows)


def modules_on_disk() -> set[str]:
    """Every module of both plugins, as the layout table names them (`plan/build.py`)."""
    found: set[str] = set()
    for package, source in SOURCES.items():
        for path in (source / package).rglob("*.py"):
            relative = path.relative_to(source / package)
            if relative.name == "__init__.py":
                if relative.parent != Path():
                    found.add(f"{package}:{relative.parent.as_posix()}/")
            else:
                found.add(f"{package}:{relative.as_posix()}")
    return found


def hints_table() -> str:
    """The hints table as docs/alerts.md prints it (from the one table in the code)."""
    from target_jumpcloud.output.hints import hints_markdown

    return hints_markdown().strip()


def _replace_block(path: Path, markers: tuple[str, str], block: str) -> None:
    begin, end = markers
    page = path.read_text()
    head, rest = page.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{block}\n{end}{tail}")


def main() -> None:
    """Rewrite every generated block in place."""
    _replace_block(DEVELOPMENT_DOC, LAYOUT_MARKERS, layout_table())
    _replace_block(ALERTS_DOC, HINTS_MARKERS, hints_table())
    text = SETTINGS_DOC.read_text()
    for plugin in PLUGINS:
        begin, end = f"<!-- {plugin} settings: begin -->", f"<!-- {plugin} settings: end -->"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{settings_table(plugin)}\n{end}{tail}"
    SETTINGS_DOC.write_text(text)


if __name__ == "__main__":
    main()
