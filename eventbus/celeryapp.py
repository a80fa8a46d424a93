"""The project's Celery app, for the bus's publishers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pizzeria.celery import app

if TYPE_CHECKING:
    from celery import Celery


def celery_app() -> Celery:
    """The app pizzeria/celery.py builds. Not celery.current_app: a process may have made another
    app current (bench/bare.py's plain Celery() does), and messages would go to that one."""
    return app
