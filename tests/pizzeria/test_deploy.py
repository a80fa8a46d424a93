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


def _systemd_command(exec_start: str, *, instance: str, host: str) -> list[str]:
    """ExecStart as systemd runs it: %i/%H filled in, $$ a literal $ (no systemd variables used)."""
    import shlex

    return shlex.split(exec_start.replace("%i", instance).replace("%H", host).replace("$$", "$"))


def test_the_systemd_worker_autoscales_like_the_procfile():
    import subprocess

    exec_start = _unit("pizzeria-worker@.service")["Service"]["ExecStart"]
    command = _systemd_command(
        exec_start.replace("exec /srv/pizzeria/.venv/bin/celery", "echo celery"),
        instance="notifications",
        host="box1",
    )

    def started_with(**env: str) -> str:
        return subprocess.run(
            command, env={"PATH": "/usr/bin:/bin", **env}, capture_output=True, text=True, check=True
        ).stdout

    assert "-Q notifications --autoscale=2,2 -n notifications@box1" in started_with(CONCURRENCY="2")
    assert "--autoscale=8,3" in started_with(CONCURRENCY="2", AUTOSCALE_MIN="3", AUTOSCALE_MAX="8")
    assert "--autoscale=8,2" in started_with(CONCURRENCY="2", AUTOSCALE_MAX="8")
    procfile = procfile_entries()["worker_notifications"]
    assert "--autoscale=${NOTIFICATIONS_AUTOSCALE_MAX:-${NOTIFICATIONS_CONCURRENCY:-2}}" in procfile


def test_make_run_protects_supervisord_and_writes_one_readable_stream(tmp_path):
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(supervisord_config(procfile_entries(), run_dir=tmp_path))
    server, ctl = config["unix_http_server"], config["supervisorctl"]
    assert server["chmod"] == "0700"
    assert server["username"] and len(server["password"]) >= 24  # no "without any HTTP authentication" CRIT
    assert (ctl["username"], ctl["password"]) == (server["username"], server["password"])
    assert (tmp_path / "supervisor.secret").stat().st_mode & 0o077 == 0  # the credential is owner-only
    # the same credential on the next `make run` (an open supervisorctl keeps working)
    again = configparser.ConfigParser(interpolation=None)
    again.read_string(supervisord_config(procfile_entries(), run_dir=tmp_path))
    assert again["unix_http_server"]["password"] == server["password"]
    # supervisord's own lines through an append-mode open of stdout, like every program's
    assert config["supervisord"]["logfile"] == "/dev/stdout" and config["supervisord"]["silent"] == "true"


def test_no_web_server_takes_the_per_user_gunicorn_control_socket():
    # gunicorn >= 25 binds $XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl by default: one
    # path per user, so a second stack (make test's beside make run, the bench's two servers) takes it
    # over, and `gunicornc` would steer the wrong server. The processes are managed by supervisord /
    # systemd instead.
    assert "--no-control-socket" in procfile_entries()["web"]
    assert "--no-control-socket" in _unit("pizzeria-web.service")["Service"]["ExecStart"]
