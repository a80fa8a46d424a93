"""The production templates carry the restart policy of `make run`, for every Procfile process."""

import configparser
from pathlib import Path

from pizzeria.celery import QUEUES
from pizzeria.devservices import procfile_entries, supervisord_config

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read(UNITS / name)
    return parser


def test_every_systemd_unit_restarts_always_and_never_gives_up():
    for name in ("pizzeria-web.service", "pizzeria-worker@.service", "pizzeria-beat.service"):
        unit = _unit(name)
        assert unit["Service"]["Restart"] == "always", name
        assert unit["Unit"]["StartLimitIntervalSec"] == "0", name
        assert "DJANGO_SETTINGS_MODULE=pizzeria.settings.production" in (UNITS / name).read_text(), name


def test_worker_stop_waits_past_the_hard_time_limit(settings):
    unit = _unit("pizzeria-worker@.service")
    assert int(unit["Service"]["TimeoutStopSec"]) > settings.CELERY_TASK_TIME_LIMIT
    assert unit["Service"]["KillSignal"] == "SIGTERM"


def test_the_target_starts_a_pool_for_every_queue_and_the_procfile_has_one_too():
    wants = _unit("pizzeria.target")["Unit"]["Wants"].split()
    assert {f"pizzeria-worker@{q}.service" for q in QUEUES} <= set(wants)
    procfile = procfile_entries()
    assert {f"worker_{q}" for q in QUEUES} <= set(procfile)
    assert {"web", "beat"} <= set(procfile)


def test_make_run_supervises_each_procfile_line_with_restarts(tmp_path):
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(supervisord_config(procfile_entries(), run_dir=tmp_path))
    programs = {s.removeprefix("program:"): config[s] for s in config.sections() if s.startswith("program:")}
    assert set(programs) == set(procfile_entries())
    for name, program in programs.items():
        assert program["autorestart"] == "true", name
        assert int(program["startretries"]) >= 10, name
        assert program["stopsignal"] == "TERM" and int(program["stopwaitsecs"]) > 30, name
        # supervisord's own % interpolation must not eat celery's %h
        assert "%h" not in program["command"].replace("%%h", ""), name
