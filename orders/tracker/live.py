"""One pub/sub channel per order: its tracker page hears about that order and nothing else."""

from __future__ import annotations

from pizzeria import live


def order_channel(*, order_id: int) -> str:
    return f"pizzeria:order:{order_id}"


def order_changed(*, order_id: int) -> None:
    live.publish_on_commit(order_channel(order_id=order_id))
