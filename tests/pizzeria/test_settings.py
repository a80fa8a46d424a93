"""Settings fail closed: every entry point defaults to production settings, which refuse to start
without their secrets and addresses; `make run` and `make test` choose their own settings.

Each check runs a fresh process (settings are read once per process) with an environment that
has none of the variables a developer's shell or .env might provide.
"""

import ast
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.sourcecode import product_modules

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ("DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL",
          "CELERY_BROKER_URL", "CACHE_URL")  # fmt: skip
PRODUCTION = {
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "pizza.example",
    "DATABASE_URL": "postgres://pizza@db.invalid:5432/pizza",
    "REDIS_URL": "redis://redis.invalid:6379/0",
}
ENTRY_POINTS = {
    "manage.py": [sys.executable, "manage.py", "check"],
    "wsgi": [sys.executable, "-c", "import pizzeria.wsgi"],
    "asgi": [sys.executable, "-c", "import pizzeria.asgi"],
    "celery": [sys.executable, "-c", "from pizzeria.celery import app; app.conf.broker_url"],
}


@pytest.fixture(autouse=True)
def no_dev_state(tmp_path, monkeypatch):
    """An empty .run/: a checkout where `make run` never ran (what a deployment looks like)."""
    monkeypatch.setenv("PIZZERIA_RUN_DIR", str(tmp_path / "run"))
    return tmp_path / "run"


def run(cmd: list[str], **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in CONFIG}
    # No .env either: what a deployment that forgot its configuration looks like. And no .run/
    # (for modules that import this without the fixture above): the checkout's own, made by
    # `make run` or `make check`, would make manage.py choose the development settings.
    clean["DJANGO_ENV_FILE"] = os.devnull
    clean.setdefault(
        "PIZZERIA_RUN_DIR", os.path.join(tempfile.gettempdir(), f"pizzeria-no-dev-state-{os.getpid()}")
    )
    return subprocess.run(cmd, cwd=ROOT, env={**clean, **env}, capture_output=True, text=True, timeout=120)


def settings_value(name: str, **env: str) -> str:
    env.setdefault("DJANGO_SETTINGS_MODULE", "pizzeria.settings.production")
    result = run([sys.executable, "-c", f"import django; django.setup(); from django.conf import settings; "
                  f"print(settings.{name})"], **env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_an_entry_point_started_with_no_configuration_refuses_naming_the_secret_key(entry_point):
    result = run(ENTRY_POINTS[entry_point])
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr and "pizzeria.settings.production" in result.stderr


def test_manage_py_refuses_in_one_line_not_a_traceback():
    result = run(ENTRY_POINTS["manage.py"])
    assert result.returncode != 0
    assert result.stderr.startswith("manage.py: SECRET_KEY is not set") and "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", list(PRODUCTION))
def test_production_refuses_to_start_without_each_required_variable(missing):
    env = {k: v for k, v in PRODUCTION.items() if k != missing}
    result = run(ENTRY_POINTS["manage.py"], **env)
    assert result.returncode != 0
    assert f"{missing} is not set" in result.stderr


def test_production_runs_with_debug_off_even_when_debug_is_asked_for():
    assert settings_value("DEBUG", **PRODUCTION, DEBUG="true") == "False"


def test_base_settings_alone_have_no_debug_and_no_key():
    base = {"DJANGO_SETTINGS_MODULE": "pizzeria.settings.base"}
    result = run([sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                  "settings.SECRET_KEY"], **base)  # fmt: skip
    assert result.returncode != 0 and "The SECRET_KEY setting must not be empty" in result.stderr
    assert settings_value("DEBUG", **base, SECRET_KEY="x") == "False"


def test_the_broker_may_be_named_apart_from_redis():
    url = "amqp://guest@rabbit.invalid//"
    assert settings_value("CELERY_BROKER_URL", **PRODUCTION, CELERY_BROKER_URL=url) == url


def test_development_settings_use_the_running_stack_and_a_key_of_this_checkout(no_dev_state):
    # given the addresses `make run` publishes while it runs
    no_dev_state.mkdir()
    (no_dev_state / "services.env").write_text(
        "DATABASE_URL=postgres://postgres@127.0.0.1:5999/pizzeria\nREDIS_URL=redis://127.0.0.1:6999/0\n"
    )
    dev = {"DJANGO_SETTINGS_MODULE": "pizzeria.settings.dev"}
    key = settings_value("SECRET_KEY", **dev)
    assert settings_value("DEBUG", **dev) == "True"
    assert settings_value("CELERY_BROKER_URL", **dev) == "redis://127.0.0.1:6999/0"
    assert settings_value("DATABASES['default']['PORT']", **dev) == "5999"
    assert len(key) >= 50 and key == (no_dev_state / "dev-secret-key").read_text().strip()
    assert key == settings_value("SECRET_KEY", **dev)  # stable
    # make demo's customers all come from 127.0.0.1: development lifts the per-address limits only
    rates = "REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']"
    assert settings_value(f"{rates}['order_place_ip']", **dev) == "3000/min"
    assert settings_value(f"{rates}['order_place_user']", **dev) == "30/min"
    assert settings_value(f"{rates}['order_place_ip']", **PRODUCTION) == "60/min"


def test_development_settings_without_a_running_stack_refuse_in_one_line_instead_of_a_local_redis():
    result = run(
        [sys.executable, "manage.py", "deadletters", "list"], DJANGO_SETTINGS_MODULE="pizzeria.settings.dev"
    )
    assert result.returncode != 0
    assert "DATABASE_URL and REDIS_URL not set" in result.stderr and "make run" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_manage_py_in_a_checkout_where_make_run_ran_chooses_development_settings(no_dev_state):
    # given .run/ with the dev key but no running stack: the development refusal, not production's
    no_dev_state.mkdir()
    (no_dev_state / "dev-secret-key").write_text("k" * 50)
    result = run([sys.executable, "manage.py", "check"])
    assert result.returncode != 0 and "no running development stack" in result.stderr
    # an explicit DJANGO_SETTINGS_MODULE still wins, and production stays fail closed
    result = run(
        [sys.executable, "manage.py", "check"], DJANGO_SETTINGS_MODULE="pizzeria.settings.production"
    )
    assert "SECRET_KEY is not set" in result.stderr


def test_a_database_other_than_postgresql_is_refused_with_the_way_to_get_one():
    result = run(
        [sys.executable, "manage.py", "check"], **{**PRODUCTION, "DATABASE_URL": "sqlite:///db.sqlite3"}
    )
    assert result.returncode != 0
    assert "not PostgreSQL" in result.stderr and "unset it" in result.stderr
    assert "Traceback" not in result.stderr


def test_make_run_and_make_check_choose_development_settings():
    makefile = (ROOT / "Makefile").read_text()
    assert "DEV := DJANGO_SETTINGS_MODULE=pizzeria.settings.dev" in makefile
    assert "$(DEV) $(PY) -m pizzeria.devservices run" in makefile
    assert "--ds=pizzeria.settings.test" in makefile


def test_production_settings_pass_check_deploy_with_real_secrets():
    result = run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_env_example_does_not_pretend_dot_env_chooses_the_settings_module():
    example = (ROOT / ".env.example").read_text()
    assert not any(line.lstrip("# ").startswith("DJANGO_SETTINGS_MODULE=") for line in example.splitlines())
    for name in (
        "SECRET_KEY",
        "ALLOWED_HOSTS",
        "DATABASE_URL",
        "REDIS_URL",
        "METRICS_TOKEN",
        "SMS_ALLOWED_REGIONS",
    ):
        assert f"{name}=" in example, name


def test_env_example_values_are_plain_values():
    # .env readers (django-environ included) keep a trailing "# comment" as part of the value:
    # METRICS_TOKEN would become a guessable sentence, NUM_PROXIES a parse error.
    values: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    assert values and not {k: v for k, v in values.items() if "#" in v or v != v.strip()}


def product_settings_reads() -> list[tuple[str, int, str, bool]]:
    """(file, line, setting name, has a default) for each `settings.X` / `getattr(settings, "X"…)`."""
    reads = []
    for where, tree in product_modules():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "settings"
            ):
                reads.append((where, node.lineno, node.attr, False))
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr"
                  and len(node.args) >= 2 and isinstance(node.args[0], ast.Name) and node.args[0].id == "settings"
                  and isinstance(node.args[1], ast.Constant)):  # fmt: skip
                reads.append((where, node.lineno, str(node.args[1].value), len(node.args) > 2))
    return reads


def test_product_code_reads_settings_without_a_fallback_default():
    # A default at the call site is a second declaration that drifts from pizzeria/settings/ (base.py, product.py).
    reads = product_settings_reads()
    assert reads
    assert [r for r in reads if r[3]] == []


def test_every_setting_product_code_reads_is_declared():
    from django.conf import settings

    undeclared = [r for r in product_settings_reads() if r[2].isupper() and not hasattr(settings, r[2])]
    assert undeclared == []
