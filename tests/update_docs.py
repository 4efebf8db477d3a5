"""`make docs`: paste each plugin's `--about --format=markdown` settings table into the docs.

The tables live in docs/settings.md.

tests/test_project_files.py fails when the page and `--about` disagree; this rewrites the
blocks between the `<!-- PLUGIN settings: begin/end -->` markers so they agree again.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SETTINGS_DOC = Path(__file__).resolve().parent.parent / "docs" / "settings.md"
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


def main() -> None:
    """Rewrite both blocks in place."""
    text = SETTINGS_DOC.read_text()
    for plugin in PLUGINS:
        begin, end = f"<!-- {plugin} settings: begin -->", f"<!-- {plugin} settings: end -->"
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{settings_table(plugin)}\n{end}{tail}"
    SETTINGS_DOC.write_text(text)


if __name__ == "__main__":
    main()
