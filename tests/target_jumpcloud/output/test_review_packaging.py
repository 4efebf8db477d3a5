"""The review pages' templates ship in target-jumpcloud's wheel (a pip install has them)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_the_wheel_carries_the_templates_and_the_review_script(tmp_path: Path) -> None:
    # Built offline with the build backend installed by `make install` (no index, no isolation).
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--wheel-dir",
            str(tmp_path),
            str(ROOT / "target-jumpcloud"),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (wheel,) = tmp_path.glob("target_jumpcloud-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    for template in ("review.html.j2", "review.md.j2", "review.css", "review.js"):
        assert f"target_jumpcloud/output/templates/{template}" in names
    assert "target_jumpcloud/output/review.py" in names
    assert "target_jumpcloud/plan/load.py" in names
    assert "target-jumpcloud-review = target_jumpcloud.output.review:main" in scripts
