#!/usr/bin/env python3
"""Static checks of Hearth's monitoring assets (helm/hearth/monitoring/), run by
`bash deploy/check.sh monitoring` beside promtool:

    check_monitoring.py --out DIR

- dashboard.json parses and is a classic Grafana dashboard: uid, title, schemaVersion, the
  `datasource` and `county` variables, panels with unique ids, a type, gridPos, datasource and
  targets (expr, unique refId); every query filters on hearth_county=~"$county".
- Every metric the dashboard and alerts.yaml query is one Hearth exports (the list below, as in
  docs/operations.md "Metrics").
- Every alert has a severity, summary, description and a runbook_url whose anchor is a heading
  of docs/operations.md.
- Writes DIR/dashboard-queries.yaml: each dashboard query as a recording rule (Grafana's
  variables replaced), so that `promtool check rules` parses every query.

Prints PASS/FAIL lines; exits 1 if any failed.
"""

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
MONITORING = ROOT / "helm" / "hearth" / "monitoring"
OPERATIONS = ROOT / "docs" / "operations.md"

# What Hearth exports (Prometheus names, as scraped from :9464/metrics).
HISTOGRAMS = ["rpc_server_call_duration_seconds", "messaging_process_duration_seconds"]
METRICS = {f"{h}{suffix}" for h in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")} | {
    "hearth_outbox_backlog", "hearth_outbox_oldest_age_seconds", "hearth_outbox_published_total",
    "hearth_outbox_publish_failures_total", "hearth_consumer_lag", "hearth_consumer_redeliveries_total",
    "hearth_dead_letters_total", "hearth_registrations_total", "hearth_placement_requests_total",
    "hearth_proposals_total", "hearth_placements_total",
}
# A metric in a query: a name followed by a selector (every query here writes one).
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{")
# Grafana's variables, as promtool should see them.
VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "${county}": ".*",
             "$county": ".*"}

results = []


def check(name, condition, detail=""):
    results.append(bool(condition))
    print(f"{'PASS' if condition else 'FAIL'}: {name}" + ("" if condition else f" — {detail}"))


def metrics_in(expr):
    return set(SELECTOR.findall(expr))


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def check_dashboard(out):
    path = MONITORING / "dashboard.json"
    try:
        dashboard = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        check("dashboard.json parses as JSON", False, error)
        return
    check("dashboard.json parses as JSON", True)
    problems = []
    for key in ("uid", "title", "schemaVersion", "templating", "panels"):
        if key not in dashboard:
            problems.append(f"no {key}")
    if len(dashboard.get("uid", "")) > 40:
        problems.append("uid longer than Grafana's 40 characters")
    variables = {v["name"]: v for v in dashboard.get("templating", {}).get("list", [])}
    if variables.get("datasource", {}).get("type") != "datasource" or variables["datasource"].get("query") != "prometheus":
        problems.append("no Prometheus datasource variable `datasource`")
    county = variables.get("county", {})
    if "label_values(hearth_registrations_total, hearth_county)" not in json.dumps(county.get("query")):
        problems.append("variable `county` is not label_values(hearth_registrations_total, hearth_county)")
    ids, queries = set(), []
    for panel in dashboard.get("panels", []):
        name = f"panel {panel.get('id')} {panel.get('title')!r}"
        if panel.get("id") in ids or not isinstance(panel.get("id"), int):
            problems.append(f"{name}: id missing or not unique")
        ids.add(panel.get("id"))
        if not {"h", "w", "x", "y"} <= set(panel.get("gridPos", {})):
            problems.append(f"{name}: no gridPos")
        if panel.get("type") == "row":
            continue
        if panel.get("type") not in ("timeseries", "stat"):
            problems.append(f"{name}: type {panel.get('type')}")
        if panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"{name}: datasource is not the variable")
        targets = panel.get("targets", [])
        if not targets or len({t.get("refId") for t in targets}) != len(targets):
            problems.append(f"{name}: no targets, or refIds not unique")
        for target in targets:
            expr = target.get("expr", "")
            if 'hearth_county=~"$county"' not in expr:
                problems.append(f"{name} {target.get('refId')}: no hearth_county=~\"$county\" filter")
            unknown = metrics_in(expr) - METRICS
            if unknown or not metrics_in(expr):
                problems.append(f"{name} {target.get('refId')}: metrics {sorted(unknown) or 'none'} not exported by Hearth")
            for variable, value in VARIABLES.items():
                expr = expr.replace(variable, value)
            queries.append({"record": f"dashboard:panel_{panel['id']}:{target.get('refId')}", "expr": expr})
    check(f"dashboard.json: {len(ids)} panels, variables, datasource, targets; only Hearth's metrics",
          not problems, problems)
    (out / "dashboard-queries.yaml").write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard-queries", "rules": queries}]}, sort_keys=False),
        encoding="utf-8")
    print(f"wrote {out / 'dashboard-queries.yaml'} ({len(queries)} queries for promtool check rules)")


def check_alerts():
    rules = [r for g in yaml.safe_load((MONITORING / "alerts.yaml").read_text(encoding="utf-8"))["groups"]
             for r in g["rules"]]
    headings = {github_anchor(m.group(1)) for m in
                re.finditer(r"^#{1,6}\s+(.+)$", OPERATIONS.read_text(encoding="utf-8"), re.MULTILINE)}
    problems = []
    for rule in rules:
        name = rule.get("alert", rule.get("record"))
        unknown = metrics_in(rule["expr"]) - METRICS
        if unknown:
            problems.append(f"{name}: metrics {sorted(unknown)} not exported by Hearth")
        if rule.get("labels", {}).get("severity") not in ("warning", "critical"):
            problems.append(f"{name}: severity {rule.get('labels', {}).get('severity')}")
        annotations = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            if not annotations.get(key):
                problems.append(f"{name}: no {key}")
        anchor = annotations.get("runbook_url", "").partition("#")[2]
        if anchor not in headings:
            problems.append(f"{name}: runbook anchor #{anchor} is no heading of docs/operations.md")
    check(f"alerts.yaml: {len(rules)} alerts use Hearth's metrics, have severity, summary, description "
          "and a runbook in docs/operations.md", rules and not problems, problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    check_dashboard(args.out)
    check_alerts()
    passed, failed = results.count(True), results.count(False)
    print(f"monitoring: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
