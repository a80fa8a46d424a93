"""The project's Celery app, for the bus's publishers."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from celery import Celery


def celery_app() -> Celery:
    """The app pizzeria/celery.py builds. Not celery.current_app: a process may have made another
    app current (bench/bare.py's plain Celery() does), and messages would go to that one."""
    from pizzeria.celery import app  # on use: building the app is not an import-time side effect

    return app
