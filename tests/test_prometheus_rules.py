"""deploy/prometheus: the alert rules pass ``promtool check rules`` and their unit tests
(``promtool test rules``), the scrape config passes ``promtool check config``, and the
Grafana dashboard and alerts only name metrics shipdoc exports (or vLLM's)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client.metrics import MetricWrapperBase

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
PROM = DEPLOY / "prometheus"
_METRIC = re.compile(r"\b(shipdoc_[a-z_]+|vllm:[a-z_]+)\b")


def _promtool(*args: str, cwd: Path = PROM) -> str:
    exe = shutil.which("promtool")
    if exe is None:
        pytest.fail("promtool is missing: `make system-deps` installs Debian's prometheus")
    done = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_alert_rules_are_valid() -> None:
    out = _promtool("check", "rules", "alerts.yml")
    assert "SUCCESS" in out


def test_alert_rules_fire_as_their_unit_tests_expect() -> None:
    out = _promtool("test", "rules", "alerts_test.yml")
    assert "SUCCESS" in out


def test_scrape_config_is_valid(tmp_path: Path) -> None:
    config = (PROM / "prometheus.yml").read_text()
    shutil.copy(PROM / "alerts.yml", tmp_path / "alerts.yml")
    (tmp_path / "prometheus.yml").write_text(
        config.replace("/etc/prometheus/alerts.yml", str(tmp_path / "alerts.yml"))
    )
    _promtool("check", "config", "prometheus.yml", cwd=tmp_path)


def _exported() -> set[str]:
    """Every metric family shipdoc can export (in-process instruments and scrape-time)."""
    import app.api.metrics as scrape
    from core import metrics

    names = set()
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            names |= {family.name for family in value.describe()}
    source = Path(scrape.__file__).read_text()
    names |= set(re.findall(r'"(shipdoc_[a-z_]+)"', source))
    return names


def _base(name: str) -> str:
    return re.sub(r"_(total|bucket|count|sum)$", "", name)


def test_dashboard_and_alerts_name_only_exported_metrics() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "shipdoc.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs.append((PROM / "alerts.yml").read_text())
    used = {m for e in exprs for m in _METRIC.findall(e) if m.startswith("shipdoc_")}
    exported = _exported()
    unknown = {m for m in used if m not in exported and _base(m) not in exported}
    assert not unknown, unknown
    assert dashboard["uid"] == "shipdoc-ops" and len(dashboard["panels"]) >= 15


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9 -]", "", heading.lower()).strip().replace(" ", "-")


def test_every_alert_links_to_a_runbook_section() -> None:
    import yaml

    docs = (DEPLOY.parent / "docs" / "operations.md").read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+ (.+)$", docs, flags=re.M)}
    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    for group in rules["groups"]:
        for rule in group["rules"]:
            link = rule["annotations"]["runbook"]
            page, _, anchor = link.partition("#")
            assert page == "docs/operations.md" and anchor in anchors, (rule["alert"], link)
