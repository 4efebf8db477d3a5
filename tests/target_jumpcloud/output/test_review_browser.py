"""The review page in a real browser: Debian's Chromium, headless, driven by Selenium.

The page is made from a real report: the demo's second nightly sync of 300 seeded workers,
run over loopback against both emulators, with one worker renamed to a script-injection
attempt. The browser checks what a reviewer sees: the counts equal the report's, the outcome
filter and the search work, no console error is logged (a Content-Security-Policy violation
would be one: nothing may load or run but the page's own script), and the malicious name is
shown as text. Nothing is downloaded: the browser and its driver are Debian's packages.

Set UPDATE_SCREENSHOT=1 to write docs/review-page.png from this run.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.output.review import write_review_page

from tests.target_jumpcloud.review_helpers import (
    MALICIOUS_FIRST,
    MALICIOUS_FULL,
    MALICIOUS_LAST,
    make_review_report,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from selenium.webdriver.chrome.webdriver import WebDriver

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOT = ROOT / "docs" / "review-page.png"
INSTALL_HINT = "Chromium is not installed: apt-get install chromium chromium-driver"
CHROME_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--window-size=1400,900",
)


def _program(name: str) -> str | None:
    for candidate in (f"/usr/bin/{name}", shutil.which(name)):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture(scope="module")
def programs() -> tuple[str, str]:
    chromium, driver = _program("chromium"), _program("chromedriver")
    if chromium is None or driver is None:
        if os.environ.get("CI"):  # .ci/run installs them: never skip there
            pytest.fail(INSTALL_HINT)
        pytest.skip(INSTALL_HINT)
    return chromium, driver


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The second sync's report, its review page, and the renamed worker's record."""
    folder = tmp_path_factory.mktemp("review-run")
    report_path, renamed = make_review_report(folder)
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert len(report["records"]) >= 300
    page = write_review_page(report_path)
    record = next(r for r in report["records"] if r["deel_id"] == renamed)
    return {"report": report, "page": page, "renamed": record}


@pytest.fixture(scope="module")
def browser(programs: tuple[str, str]) -> Iterator[WebDriver]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver_path = programs
    options = webdriver.ChromeOptions()
    options.binary_location = chromium  # given, so Selenium Manager never looks for one
    for flag in CHROME_FLAGS:
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="review-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: WebDriver, run: dict[str, Any]) -> WebDriver:
    browser.get(run["page"].as_uri())
    return browser


def severe_logs(browser: WebDriver) -> list[dict[str, Any]]:
    """Console errors (and CSP violations) since the last call."""
    return [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


# The rows the browser renders (a hidden row has no layout box), read in one call rather
# than one WebDriver round trip per row.
_VISIBLE_ROWS = """
return Array.from(document.querySelectorAll("tbody tr[data-outcome]"))
  .filter(function (row) { return row.getClientRects().length > 0; })
  .map(function (row) {
    return {
      outcome: row.getAttribute("data-outcome"),
      text: row.innerText,
      cells: Array.from(row.cells).map(function (cell) { return cell.innerText; })
    };
  });
"""


def visible_rows(browser: WebDriver) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = browser.execute_script(_VISIBLE_ROWS)
    return rows


def test_the_counts_shown_are_the_reports(page: WebDriver, run: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    report = run["report"]
    shown = {
        element.get_attribute("data-count"): int(element.text)
        for element in page.find_elements(By.CSS_SELECTOR, "[data-count]")
    }
    assert shown == report["counts"]
    rows = page.find_elements(By.CSS_SELECTOR, "tbody tr[data-outcome]")
    assert len(rows) == len(report["records"])
    per_outcome: dict[str, int] = dict.fromkeys(report["counts"], 0)
    for row in rows:
        per_outcome[str(row.get_attribute("data-outcome"))] += 1
    assert per_outcome == report["counts"]
    assert page.find_element(By.ID, "shown").text == f"{len(rows)} of {len(rows)} records shown"
    assert severe_logs(page) == []


def test_the_outcome_filter_shows_exactly_that_outcome(
    page: WebDriver, run: dict[str, Any]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    counts = run["report"]["counts"]
    total = len(run["report"]["records"])
    select = Select(page.find_element(By.ID, "outcome-filter"))
    for outcome, count in counts.items():
        select.select_by_value(outcome)
        rows = visible_rows(page)
        assert len(rows) == count, outcome
        assert {row["outcome"] for row in rows} <= {outcome}
        assert page.find_element(By.ID, "none").is_displayed() == (count == 0)
    select.select_by_value("")
    assert len(visible_rows(page)) == total
    # A count is a button for the same filter; pressing it again clears it.
    button = page.find_element(By.CSS_SELECTOR, 'button[data-filter="conflict"]')
    button.click()
    assert len(visible_rows(page)) == counts["conflict"] == 1
    assert select.first_selected_option.get_attribute("value") == "conflict"
    button.click()
    assert len(visible_rows(page)) == total
    assert severe_logs(page) == []


def test_the_search_finds_by_email_username_and_name(page: WebDriver, run: dict[str, Any]) -> None:
    from selenium.webdriver.common.by import By

    records = run["report"]["records"]
    search = page.find_element(By.ID, "search")
    someone = next(r for r in records if r["outcome"] == "unchanged" and r["email"])
    search.send_keys(someone["email"].upper())  # case does not matter
    rows = visible_rows(page)
    assert len(rows) == 1
    assert someone["email"] in rows[0]["text"]
    search.clear()
    search.send_keys(someone["username"])
    assert someone["username"] in [row["cells"][1] for row in visible_rows(page)]
    search.clear()
    search.send_keys("no-such-person-anywhere")
    assert visible_rows(page) == []
    assert page.find_element(By.ID, "none").is_displayed()
    # Search and filter combine: the suspended worker, found by name, under "suspended".
    search.clear()
    suspended = next(r for r in records if r["outcome"] == "suspended")
    from selenium.webdriver.support.ui import Select

    Select(page.find_element(By.ID, "outcome-filter")).select_by_value("unchanged")
    search.send_keys(suspended["email"])
    assert visible_rows(page) == []
    Select(page.find_element(By.ID, "outcome-filter")).select_by_value("suspended")
    assert len(visible_rows(page)) == 1
    assert severe_logs(page) == []


def test_a_malicious_name_is_shown_as_text_and_nothing_runs(
    page: WebDriver, run: dict[str, Any]
) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    with pytest.raises(NoAlertPresentException):
        page.switch_to.alert  # noqa: B018 - the property raises when there is no alert
    assert page.find_elements(By.TAG_NAME, "img") == []
    assert len(page.find_elements(By.TAG_NAME, "script")) == 1  # the page's own
    renamed = run["renamed"]
    assert renamed["changes"]["displayname"][1] == MALICIOUS_FULL
    page.find_element(By.ID, "search").send_keys("<script>")
    (row,) = visible_rows(page)
    assert row["outcome"] == "updated"
    assert renamed["email"] in row["text"]
    assert MALICIOUS_FIRST in row["text"]
    assert MALICIOUS_LAST in row["text"]
    # And as Selenium sees the element itself: displayed, with the text.
    element = page.find_element(By.CSS_SELECTOR, "tbody tr:not([hidden])")
    assert element.is_displayed()
    assert MALICIOUS_FULL in element.text
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert severe_logs(page) == []


def test_the_screenshot_for_the_docs(page: WebDriver, run: dict[str, Any]) -> None:
    """Writes docs/review-page.png only when UPDATE_SCREENSHOT=1 (tests never dirty the tree)."""
    png = page.get_screenshot_as_png()
    assert png.startswith(b"\x89PNG")
    assert severe_logs(page) == []
    if os.environ.get("UPDATE_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        SCREENSHOT.write_bytes(png)
