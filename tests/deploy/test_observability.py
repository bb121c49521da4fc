"""The alert rules and the dashboard parse, and query only series the code declares.

promtool is not available, so the rules file is checked structurally here: YAML as
Prometheus loads it, every rule named and with a runbook section, every metric name in
every expression declared by one of the processes' metric modules.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

import analyticbot.runtime.metrics
import analyticbot.runtime.stream_metrics
import gateway.metrics
import services.bot.metrics
import services.collector.metrics
from tests.support import ROOT

OBSERVABILITY = ROOT / "deploy" / "observability"
RUNBOOK = ROOT / "docs" / "runbook.md"
METRIC_MODULES = (
    analyticbot.runtime.metrics,
    analyticbot.runtime.stream_metrics,
    gateway.metrics,
    services.bot.metrics,
    services.collector.metrics,
)
# Series Prometheus itself adds to every target.
PROMETHEUS_SERIES = {"up"}
PROMQL_WORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
    "and", "or", "unless", "inf", "nan",
}  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w:.$])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(\s*\()?")


def declared_series() -> set[str]:
    """Every sample name the processes' metric modules can expose."""
    names: set[str] = set()
    for module in METRIC_MODULES:
        for value in vars(module).values():
            if isinstance(value, MetricWrapperBase):
                for metric in value.describe():
                    names |= _sample_names(metric.name, metric.type)
    return names | PROMETHEUS_SERIES


def _sample_names(name: str, kind: str) -> set[str]:
    if kind == "counter":
        return {f"{name}_total"}
    if kind == "histogram":
        return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}
    return {name}


def metric_names(expr: str) -> set[str]:
    """The series an expression selects: identifiers that are not functions, keywords,
    label names or durations."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    found = set()
    for match in _IDENTIFIER.finditer(text):
        word, call = match.group(1), match.group(2)
        if call or word.lower() in PROMQL_WORDS:
            continue
        found.add(word)
    return found


def _rules() -> list[dict[str, Any]]:
    document = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    assert set(document) == {"groups"}
    rules = []
    for group in document["groups"]:
        assert group["name"], group
        assert group["rules"], group
        rules.extend(group["rules"])
    return rules


def _dashboard_targets() -> list[dict[str, Any]]:
    dashboard = json.loads((OBSERVABILITY / "dashboard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels:
        assert panel["title"], panel
        assert panel["targets"], panel
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel
    return [target for panel in panels for target in panel["targets"]]


def test_metric_name_extraction() -> None:
    expr = (
        'histogram_quantile(0.99, sum by (le, route) (rate(http_x_bucket{route=~"/api/.*"}'
        '[$__rate_interval]))) / clamp_min(max(up{a="b"}), 1) > 3 * 3600'
    )
    assert metric_names(expr) == {"http_x_bucket", "up"}


def test_every_alert_is_complete_and_in_the_runbook() -> None:
    runbook = RUNBOOK.read_text()
    headings = {line[4:].strip() for line in runbook.splitlines() if line.startswith("### ")}
    names = []
    for rule in _rules():
        name = rule["alert"]
        names.append(name)
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert rule["annotations"]["summary"], name
        assert rule["annotations"]["runbook"] == f"docs/runbook.md#{name.lower()}", name
        assert name in headings, f"docs/runbook.md has no '### {name}' section"
    assert len(names) == len(set(names)), "alert names must be unique"


@pytest.mark.parametrize("source", ["alerts", "dashboard"])
def test_queries_use_only_declared_series(source: str) -> None:
    declared = declared_series()
    if source == "alerts":
        exprs = [rule["expr"] for rule in _rules()]
    else:
        exprs = [target["expr"] for target in _dashboard_targets()]
    assert exprs
    for expr in exprs:
        names = metric_names(expr)
        assert names, f"no series in {expr!r}"
        assert names <= declared, f"undeclared {sorted(names - declared)} in {expr!r}"


def test_the_dashboard_covers_every_process_metric() -> None:
    """A series the code exports and nobody charts is a series nobody will look at."""
    charted: set[str] = set()
    for target in _dashboard_targets():
        charted |= metric_names(target["expr"])
    uncharted = [
        metric.name
        for module in METRIC_MODULES
        for value in vars(module).values()
        if isinstance(value, MetricWrapperBase)
        for metric in value.describe()
        if not _sample_names(metric.name, metric.type) & charted
    ]
    assert not uncharted, f"declared but not on the dashboard: {sorted(uncharted)}"
