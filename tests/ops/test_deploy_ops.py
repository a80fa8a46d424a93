"""deploy/: alert rules parse (promtool), dashboards and scalers only use metrics /metrics exports,
and each pool's autoscale bounds come from the environment in the Procfile."""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from ops.metrics import OpsCollector
from pizzeria.celery import QUEUES
from pizzeria.devservices import procfile_entries

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def exported_names() -> set[str]:
    names = set()
    for family in OpsCollector().collect():
        names.add(family.name)
        names.update(s.name for s in family.samples)
        if family.type == "counter":
            names.add(f"{family.name}_total")
        if family.type == "histogram":
            names.update(f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count"))
    return names


def used_names(expr: str) -> set[str]:
    words = set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*(?:\{|\[|\)|$|\s*[<>=])", expr))
    return {w for w in words if w.startswith(("eventbus_", "celery_", "orders_", "django_"))}


def expressions() -> list[str]:
    exprs = [
        r["expr"]
        for g in yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())["groups"]
        for r in g["rules"]
    ]
    dashboard = json.loads((DEPLOY / "grafana" / "pizzeria-ops.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for path in (DEPLOY / "keda").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            for trigger in (doc.get("spec") or {}).get("triggers", []):
                if trigger["type"] == "prometheus":
                    exprs.append(trigger["metadata"]["query"])
    return exprs


@pytest.mark.django_db
def test_every_metric_the_alerts_dashboard_and_scalers_use_is_exported(monkeypatch):
    from pizzeria.observability import counters

    counters.delivery_recorded(handler="h", queue="kitchen", outcome="succeeded", seconds=0.1)
    counters.http_request_recorded(view="v", method="GET", status=200, seconds=0.1)
    counters.order_placed()
    counters.flush()
    exported = exported_names()
    used = set().union(*(used_names(e) for e in expressions()))
    assert used, "no metric names found in deploy/"
    assert used <= exported, used - exported


def test_keda_scalers_name_real_queues_for_both_brokers():
    triggers = {}
    for path in (DEPLOY / "keda").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            for trigger in (doc.get("spec") or {}).get("triggers", []):
                triggers.setdefault(trigger["type"], []).append(trigger["metadata"])
    assert {"redis", "rabbitmq", "prometheus"} <= set(triggers)
    assert all(t["listName"] in QUEUES for t in triggers["redis"])
    assert all(t["queueName"] in QUEUES for t in triggers["rabbitmq"])


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian: apt-get install prometheus)"
)
def test_alert_rules_parse_with_promtool():
    result = subprocess.run(
        ["promtool", "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("queue", QUEUES)
def test_each_pool_takes_its_autoscale_bounds_from_the_environment(queue):
    command = procfile_entries()[f"worker_{queue}"]
    pool = queue.upper()

    def expand(env: dict[str, str]) -> str:
        clean = {k: v for k, v in os.environ.items() if not k.startswith(pool)}
        return subprocess.run(
            ["sh", "-c", f"echo {command}"], env={**clean, **env}, capture_output=True, text=True
        ).stdout

    assert "--autoscale=9,3 " in expand({f"{pool}_AUTOSCALE_MAX": "9", f"{pool}_AUTOSCALE_MIN": "3"})
    assert "--autoscale=4,4 " in expand({f"{pool}_CONCURRENCY": "4"})  # the old knob: a fixed size
    assert re.search(r"--autoscale=(\d+),\1 ", expand({}))
