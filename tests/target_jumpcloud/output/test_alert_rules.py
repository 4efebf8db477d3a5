"""docs/alerts/target-jumpcloud.rules.yml is a valid Prometheus rule group over real metrics.

There is no promtool here, so the check is promtool's structural one written out: the file
is YAML with `groups`, each group a unique name and rules; each alerting rule has exactly
the keys Prometheus accepts, a valid name, a duration `for`, string labels and annotations.
Each expression's parentheses, braces and quotes balance, and every metric it names is one
the target writes, with label matchers naming labels (and values) that metric has, checked
against a metrics file the real writer made and prometheus_client's parser read back.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families
from target_jumpcloud.model import Outcome
from target_jumpcloud.output.metrics import METRIC_NAMES, write_metrics

ROOT = Path(__file__).resolve().parents[3]
RULES = ROOT / "docs" / "alerts" / "target-jumpcloud.rules.yml"
_ALERT_KEYS = {"alert", "expr", "for", "keep_firing_for", "labels", "annotations"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")
_FUNCTIONS = {"time", "absent", "sum", "by", "rate", "increase", "max", "min", "on", "or", "and"}
_SELECTOR = re.compile(r"\b(target_jumpcloud_[a-z_]+)\b(\{[^}]*\})?")
_MATCHER = re.compile(r'\s*([A-Za-z_]\w*)\s*(=~|!=|!~|=)\s*"([^"]*)"\s*')


def load_rules(path: Path = RULES) -> list[dict[str, Any]]:
    """The rules of the file, after checking the group structure."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert set(document) == {"groups"}
    groups = document["groups"]
    assert isinstance(groups, list)
    assert groups
    names = [group["name"] for group in groups]
    assert len(set(names)) == len(names), "group names must be unique"
    rules: list[dict[str, Any]] = []
    for group in groups:
        assert set(group) <= {"name", "interval", "limit", "rules"}, group.keys()
        assert isinstance(group["rules"], list)
        assert group["rules"]
        rules += group["rules"]
    return rules


def written_metrics(tmp_path: Path) -> dict[str, set[frozenset[tuple[str, str]]]]:
    """Metric name → the label sets it has, in a file the target's own writer made."""
    path = write_metrics(
        tmp_path / "target-jumpcloud.prom",
        counts={"failed": 1},
        run_seconds=1.0,
        finished_at=1_700_000_000.0,
        success=True,
        guard_tripped=False,
        requests={("v1", "GET"): 1},
        exit_code=1,
    )
    found: dict[str, set[frozenset[tuple[str, str]]]] = {}
    for family in text_string_to_metric_families(path.read_text(encoding="utf-8")):
        for sample in family.samples:
            found.setdefault(sample.name, set()).add(frozenset(sample.labels.items()))
    return found


def check_balanced(expr: str) -> None:
    """Brackets pair up and quotes close, outside of quoted strings."""
    stack: list[str] = []
    pairs = {")": "(", "}": "{", "]": "["}
    in_quote = False
    for char in expr:
        if char == '"':
            in_quote = not in_quote
        elif in_quote:
            continue
        elif char in "({[":
            stack.append(char)
        elif char in pairs:
            assert stack, f"unbalanced {char!r} in {expr!r}"
            assert stack.pop() == pairs[char], f"unbalanced {char!r} in {expr!r}"
    assert not stack, f"unclosed {stack} in {expr!r}"
    assert not in_quote, f"unclosed quote in {expr!r}"


def check_expression(expr: str, metrics: dict[str, set[frozenset[tuple[str, str]]]]) -> set[str]:
    """The target's metrics `expr` selects, each checked against the written file."""
    check_balanced(expr)
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\(", expr))
    assert words <= _FUNCTIONS, f"unknown function(s) {words - _FUNCTIONS} in {expr!r}"
    used: set[str] = set()
    for name, braces in _SELECTOR.findall(expr):
        assert name in metrics, f"{name} is not in the metrics file the target writes"
        used.add(name)
        if not braces:
            continue
        labels = {label for label_set in metrics[name] for label, _ in label_set}
        for matcher in braces.strip("{}").split(","):
            match = _MATCHER.fullmatch(matcher)
            assert match is not None, f"bad label matcher {matcher!r} in {expr!r}"
            label, op, value = match.groups()
            assert label in labels, f"{name} has no label {label!r}"
            if label == "outcome" and op == "=":
                assert value in {o.value for o in Outcome}, f"no outcome {value!r}"
    assert used, f"{expr!r} names none of the target's metrics"
    return used


def test_the_rules_file_is_a_valid_rule_group_over_the_written_metrics(tmp_path):
    metrics = written_metrics(tmp_path)
    assert set(metrics) == set(METRIC_NAMES)
    rules = load_rules()
    used: set[str] = set()
    for rule in rules:
        assert set(rule) <= _ALERT_KEYS, rule.keys()
        assert _NAME.match(rule["alert"]), rule["alert"]
        assert isinstance(rule["expr"], str)
        assert rule["expr"].strip()
        if "for" in rule:
            assert _DURATION.match(rule["for"]), rule["for"]
        for key in ("labels", "annotations"):
            values = rule.get(key, {})
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
        assert rule.get("annotations", {}).get("summary"), f"{rule['alert']} has no summary"
        used |= check_expression(rule["expr"], metrics)
    assert {rule["alert"] for rule in rules} == {
        "JumpCloudSyncNoSuccess",
        "JumpCloudSyncGuardTripped",
        "JumpCloudSyncFailedRecords",
    }
    assert used == {
        "target_jumpcloud_last_success_timestamp_seconds",
        "target_jumpcloud_guard_tripped",
        "target_jumpcloud_records",
    }
    no_success = next(r for r in rules if r["alert"] == "JumpCloudSyncNoSuccess")
    assert "26 * 3600" in no_success["expr"]


@pytest.mark.parametrize(
    ("expr", "problem"),
    [
        ("target_jumpcloud_last_sucess_timestamp_seconds > 0", "not in the metrics file"),
        ('target_jumpcloud_records{result="failed"} > 0', "has no label"),
        ('target_jumpcloud_records{outcome="failure"} > 0', "no outcome"),
        ("(time() - target_jumpcloud_guard_tripped", "unclosed"),
        ("tiem() - target_jumpcloud_guard_tripped", "unknown function"),
    ],
)
def test_a_broken_expression_would_be_found(tmp_path, expr, problem):
    with pytest.raises(AssertionError, match=problem):
        check_expression(expr, written_metrics(tmp_path))


def test_a_broken_rules_file_would_be_found(tmp_path):
    broken = tmp_path / "broken.rules.yml"
    broken.write_text("groups:\n  - name: a\n    rules: []\n", encoding="utf-8")
    with pytest.raises(AssertionError):
        load_rules(broken)
