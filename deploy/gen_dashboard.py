#!/usr/bin/env python3
"""Writes helm/hearth/monitoring/dashboard.json, the Grafana dashboard "Hearth — peak intake and
event pipeline" (run it after changing the panels here; CI checks the committed file is what
this script writes: `python3 deploy/gen_dashboard.py --check`).

The dashboard is classic Grafana JSON (schemaVersion 39), with a Prometheus datasource variable
and a `county` variable (hearth_county); every query filters on hearth_county=~"$county". It uses
only the metric names Hearth exports (docs/operations.md, "Metrics"). The Helm chart ships the
file as a ConfigMap for Grafana's dashboard sidecar; docker-compose.yml provisions it.
"""

import json
import sys
from pathlib import Path

PATH = Path(__file__).resolve().parent.parent / "helm" / "hearth" / "monitoring" / "dashboard.json"
UID = "hearth-pipeline"
TITLE = "Hearth — peak intake and event pipeline"

C = 'hearth_county=~"$county"'
RATE = "$__rate_interval"
SERVER_ERRORS = 'rpc_response_status_code=~"UNKNOWN|DEADLINE_EXCEEDED|UNIMPLEMENTED|INTERNAL|UNAVAILABLE|DATA_LOSS"'
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}

panels = []
next_id = [1]


def _id():
    value = next_id[0]
    next_id[0] += 1
    return value


def row(title, y):
    panels.append({"id": _id(), "type": "row", "title": title, "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})


def targets(queries):
    return [
        {"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i),
         "range": True}
        for i, (expr, legend) in enumerate(queries)
    ]


def timeseries(title, description, queries, grid, unit="short", stack=False, overrides=None,
               thresholds=None, min_zero=True):
    defaults = {
        "unit": unit,
        "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10 if not stack else 60,
                   "showPoints": "never", "spanNulls": False,
                   "stacking": {"mode": "normal" if stack else "none", "group": "A"}},
    }
    if min_zero:
        defaults["min"] = 0
    if thresholds:
        defaults["thresholds"] = {"mode": "absolute", "steps": [{"color": "green", "value": None}] + [
            {"color": color, "value": value} for value, color in thresholds]}
        defaults["custom"]["thresholdsStyle"] = {"mode": "dashed"}
    panels.append({
        "id": _id(), "type": "timeseries", "title": title, "description": description,
        "datasource": DATASOURCE, "gridPos": grid, "targets": targets(queries),
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["max", "lastNotNull"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
    })


def stat(title, description, expr, grid, unit="short", thresholds=None, decimals=0):
    steps = [{"color": "green", "value": None}] + [
        {"color": color, "value": value} for value, color in (thresholds or [])]
    panels.append({
        "id": _id(), "type": "stat", "title": title, "description": description,
        "datasource": DATASOURCE, "gridPos": grid, "targets": targets([(expr, "")]),
        "fieldConfig": {"defaults": {"unit": unit, "decimals": decimals,
                                     "thresholds": {"mode": "absolute", "steps": steps}},
                        "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "value", "graphMode": "area", "justifyMode": "auto",
                    "textMode": "auto", "orientation": "auto"},
    })


def grid(x, y, w, h):
    return {"h": h, "w": w, "x": x, "y": y}


# --- Peak intake ------------------------------------------------------------------------------
row("Peak intake", 0)
stat("Registrations / min", "Interest registrations per minute, all selected counties (rate over the last 5 minutes).",
     f"sum(rate(hearth_registrations_total{{{C}}}[5m])) * 60", grid(0, 1, 4, 4), decimals=1)
stat("Intake p99 latency", "99th percentile of intake's gRPC calls over the last 5 minutes (HighLatency fires above 1 s for 10 minutes).",
     "histogram_quantile(0.99, sum by (le) (rate(rpc_server_call_duration_seconds_bucket"
     f'{{{C}, rpc_service="hearth.intake.v1.IntakeService"}}[5m])))',
     grid(4, 1, 4, 4), unit="s", thresholds=[(0.5, "yellow"), (1, "red")], decimals=2)
stat("Server errors", "Share of gRPC calls that ended in a server error (UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS), last 5 minutes.",
     f"sum(rate(rpc_server_call_duration_seconds_count{{{C}, {SERVER_ERRORS}}}[5m])) / "
     f"sum(rate(rpc_server_call_duration_seconds_count{{{C}}}[5m]))",
     grid(8, 1, 4, 4), unit="percentunit", thresholds=[(0.01, "yellow"), (0.05, "red")], decimals=2)
stat("Outbox backlog", "Events in the services' outboxes not yet acknowledged by NATS (largest service).",
     f"max(hearth_outbox_backlog{{{C}}})", grid(12, 1, 4, 4), thresholds=[(100, "yellow"), (1000, "red")])
stat("Consumer lag", "Messages the most lagging durable consumer has not yet acknowledged.",
     f"max(hearth_consumer_lag{{{C}}})", grid(16, 1, 4, 4), thresholds=[(100, "yellow"), (500, "red")])
stat("Dead letters (24 h)", "Events dead-lettered in the last 24 hours: `hearth dlq list`.",
     f"sum(increase(hearth_dead_letters_total{{{C}}}[24h]))", grid(20, 1, 4, 4), thresholds=[(1, "red")])

timeseries("Registrations per minute", "Interest registrations per minute, per county.",
           [(f"sum by (hearth_county) (rate(hearth_registrations_total{{{C}}}[{RATE}])) * 60", "{{hearth_county}}")],
           grid(0, 5, 12, 8), unit="short")
timeseries("Request rate per RPC", "gRPC calls per second, per service and method.",
           [(f"sum by (rpc_service, rpc_method) (rate(rpc_server_call_duration_seconds_count{{{C}}}[{RATE}]))",
             "{{rpc_service}}/{{rpc_method}}")],
           grid(12, 5, 12, 8), unit="reqps")
timeseries("Server-error ratio per RPC", "Share of calls per method that ended in a server error code. Client errors (INVALID_ARGUMENT, NOT_FOUND, …) are not counted.",
           [(f"sum by (rpc_service, rpc_method) (rate(rpc_server_call_duration_seconds_count{{{C}, {SERVER_ERRORS}}}[{RATE}]))"
             f" / sum by (rpc_service, rpc_method) (rate(rpc_server_call_duration_seconds_count{{{C}}}[{RATE}]))",
             "{{rpc_service}}/{{rpc_method}}")],
           grid(0, 13, 12, 8), unit="percentunit", thresholds=[(0.05, "red")])
timeseries("Calls by status code", "gRPC calls per second by response status code.",
           [(f"sum by (rpc_response_status_code) (rate(rpc_server_call_duration_seconds_count{{{C}}}[{RATE}]))",
             "{{rpc_response_status_code}}")],
           grid(12, 13, 12, 8), unit="reqps", stack=True)
timeseries("Latency p50 per RPC", "Median duration of gRPC calls per method.",
           [(f"histogram_quantile(0.5, sum by (rpc_service, rpc_method, le) (rate(rpc_server_call_duration_seconds_bucket{{{C}}}[{RATE}])))",
             "{{rpc_service}}/{{rpc_method}}")],
           grid(0, 21, 12, 8), unit="s")
timeseries("Latency p99 per RPC", "99th percentile duration of gRPC calls per method (buckets up to 10 s).",
           [(f"histogram_quantile(0.99, sum by (rpc_service, rpc_method, le) (rate(rpc_server_call_duration_seconds_bucket{{{C}}}[{RATE}])))",
             "{{rpc_service}}/{{rpc_method}}")],
           grid(12, 21, 12, 8), unit="s", thresholds=[(1, "red")])

# --- Event pipeline ---------------------------------------------------------------------------
row("Event pipeline: outbox → NATS → consumers", 29)
timeseries("Outbox backlog per service", "Events written to each service's outbox and not yet acknowledged by the bus. Grows while NATS is unreachable.",
           [(f"max by (hearth_county, hearth_service) (hearth_outbox_backlog{{{C}}})", "{{hearth_county}} {{hearth_service}}")],
           grid(0, 30, 12, 8), thresholds=[(100, "yellow")])
timeseries("Oldest unsent outbox event", "Age of the oldest unsent outbox event per service (0 when empty). OutboxBacklogGrowing above 5 min, OutboxStalled above 15 min.",
           [(f"max by (hearth_county, hearth_service) (hearth_outbox_oldest_age_seconds{{{C}}})", "{{hearth_county}} {{hearth_service}}")],
           grid(12, 30, 12, 8), unit="s", thresholds=[(300, "yellow"), (900, "red")])
timeseries("Events published per second", "Events the outbox relays published, per service and event type.",
           [(f"sum by (hearth_service, hearth_event_type) (rate(hearth_outbox_published_total{{{C}}}[{RATE}]))",
             "{{hearth_service}} {{hearth_event_type}}")],
           grid(0, 38, 12, 8), unit="ops")
timeseries("Publish failures per second", "Failed publish attempts per service (NATS down or refusing).",
           [(f"sum by (hearth_service) (rate(hearth_outbox_publish_failures_total{{{C}}}[{RATE}]))", "{{hearth_service}}")],
           grid(12, 38, 12, 8), unit="ops")
timeseries("Consumer lag per consumer", "Messages each durable consumer has not yet acknowledged (pending and in flight).",
           [(f"max by (hearth_county, messaging_consumer_group_name) (hearth_consumer_lag{{{C}}})",
             "{{hearth_county}} {{messaging_consumer_group_name}}")],
           grid(0, 46, 12, 8), thresholds=[(500, "red")])
timeseries("Handler duration p99 per consumer", "99th percentile of event handling time per consumer.",
           [(f"histogram_quantile(0.99, sum by (messaging_consumer_group_name, le) (rate(messaging_process_duration_seconds_bucket{{{C}}}[{RATE}])))",
             "{{messaging_consumer_group_name}}")],
           grid(12, 46, 12, 8), unit="s")
timeseries("Handled events by outcome", "Events handled per second by outcome: applied, duplicate (already in the inbox), retry, dead_lettered.",
           [(f"sum by (hearth_outcome) (rate(messaging_process_duration_seconds_count{{{C}}}[{RATE}]))", "{{hearth_outcome}}")],
           grid(0, 54, 8, 8), unit="ops", stack=True)
timeseries("Redeliveries per second", "Deliveries that were not the first (a handler failed or timed out, or a pod stopped mid-event).",
           [(f"sum by (messaging_consumer_group_name) (rate(hearth_consumer_redeliveries_total{{{C}}}[{RATE}]))",
             "{{messaging_consumer_group_name}}")],
           grid(8, 54, 8, 8), unit="ops")
timeseries("Dead letters per hour", "Events dead-lettered per consumer, per hour. Inspect with `hearth dlq list`, redrive with `hearth dlq redrive`.",
           [(f"sum by (messaging_consumer_group_name) (increase(hearth_dead_letters_total{{{C}}}[1h]))",
             "{{messaging_consumer_group_name}}")],
           grid(16, 54, 8, 8), thresholds=[(1, "red")])

# --- Business ---------------------------------------------------------------------------------
row("Business", 62)
for x, (metric, title) in enumerate((
        ("hearth_registrations_total", "Interest registrations (24 h)"),
        ("hearth_placement_requests_total", "Placement requests (24 h)"),
        ("hearth_proposals_total", "Matching proposals (24 h)"),
        ("hearth_placements_total", "Placements (24 h)"))):
    stat(title, f"{title.split(' (')[0]} in the last 24 hours, all selected counties.",
         f"sum(increase({metric}{{{C}}}[24h]))", grid(x * 6, 63, 6, 4))
timeseries("Per hour", "Registrations, placement requests, matching proposals and placements per hour.",
           [(f"sum(increase(hearth_registrations_total{{{C}}}[1h]))", "registrations"),
            (f"sum(increase(hearth_placement_requests_total{{{C}}}[1h]))", "placement requests"),
            (f"sum(increase(hearth_proposals_total{{{C}}}[1h]))", "proposals"),
            (f"sum(increase(hearth_placements_total{{{C}}}[1h]))", "placements")],
           grid(0, 67, 12, 8))
timeseries("Per day, per county", "Registrations, placement requests, matching proposals and placements per day, per county.",
           [(f"sum by (hearth_county) (increase(hearth_registrations_total{{{C}}}[1d]))", "{{hearth_county}} registrations"),
            (f"sum by (hearth_county) (increase(hearth_placement_requests_total{{{C}}}[1d]))", "{{hearth_county}} placement requests"),
            (f"sum by (hearth_county) (increase(hearth_proposals_total{{{C}}}[1d]))", "{{hearth_county}} proposals"),
            (f"sum by (hearth_county) (increase(hearth_placements_total{{{C}}}[1d]))", "{{hearth_county}} placements")],
           grid(12, 67, 12, 8))

DASHBOARD = {
    "uid": UID,
    "title": TITLE,
    "description": "Hearth's gRPC calls, outbox relays, NATS consumers and business counters, per county. Metrics and alerts: docs/operations.md, Monitoring.",
    "tags": ["hearth"],
    "schemaVersion": 39,
    "version": 1,
    "editable": True,
    "graphTooltip": 1,
    "timezone": "browser",
    "refresh": "30s",
    "time": {"from": "now-6h", "to": "now"},
    "timepicker": {},
    "fiscalYearStartMonth": 0,
    "liveNow": False,
    "links": [],
    "annotations": {"list": [{
        "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
        "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}]},
    "templating": {"list": [
        {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
         "current": {}, "hide": 0, "includeAll": False, "multi": False, "options": [], "refresh": 1,
         "regex": "", "skipUrlSync": False},
        {"name": "county", "label": "County", "type": "query", "datasource": DATASOURCE,
         "definition": "label_values(hearth_registrations_total, hearth_county)",
         "query": {"query": "label_values(hearth_registrations_total, hearth_county)", "refId": "county"},
         "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
         "hide": 0, "includeAll": True, "allValue": ".*", "multi": True, "options": [],
         "refresh": 2, "regex": "", "skipUrlSync": False, "sort": 1},
    ]},
    "panels": panels,
}


def render() -> str:
    return json.dumps(DASHBOARD, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        if not PATH.exists() or PATH.read_text(encoding="utf-8") != render():
            print(f"FAIL: {PATH} is stale: run python3 deploy/gen_dashboard.py")
            sys.exit(1)
        print(f"PASS: {PATH.name} is what deploy/gen_dashboard.py writes")
    else:
        PATH.parent.mkdir(parents=True, exist_ok=True)
        PATH.write_text(render(), encoding="utf-8")
        print(f"wrote {PATH}")
