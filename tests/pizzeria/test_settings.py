import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE", "DEBUG", "SECRET_KEY")}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**base, "DJANGO_SETTINGS_MODULE": "pizzeria.settings.production", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy_with_real_secrets():
    result = _check_deploy(SECRET_KEY=secrets.token_urlsafe(50), ALLOWED_HOSTS="pizza.example")
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _check_deploy(ALLOWED_HOSTS="pizza.example")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr
