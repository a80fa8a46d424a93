#!/usr/bin/env python
import os
import sys
from pathlib import Path


def default_settings() -> str:
    """Development settings in a checkout where `make run` has run, production everywhere else.

    `make run` leaves its state in .run/ (the checkout's dev key, and the running stack's
    addresses in services.env), so the README's commands work pasted as written. A deployment
    names its settings (deploy/ sets DJANGO_SETTINGS_MODULE) and has no .run/: fail closed.
    """
    run_dir = Path(os.environ.get("PIZZERIA_RUN_DIR") or Path(__file__).resolve().parent / ".run")
    if (run_dir / "dev-secret-key").exists():
        return "pizzeria.settings.dev"
    return "pizzeria.settings.production"


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_settings())
    # Django only once DJANGO_SETTINGS_MODULE is chosen (start-up order).
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings: a refusal is one line, not a traceback
    except ImproperlyConfigured as exc:
        sys.exit(f"manage.py: {exc}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
