"""Live display updates: a small "changed" note on Redis pub/sub after each commit (pizzeria.live).

Writers (services, handlers) call `board_changed()`; it publishes after the transaction
commits, so a display never re-reads before the change is visible. Publishing never raises:
a display that misses a note catches up on its next message or reconnect.
"""

from __future__ import annotations

from pizzeria import live

CHANNEL = "pizzeria:kitchen:board"


def board_changed(*, order_id: int | None = None, reason: str = "") -> None:
    """Publish a change note once the current transaction commits (at once outside one)."""
    live.publish_on_commit(CHANNEL, order_id=order_id, reason=reason)


def _publish(note: str) -> None:
    live.publish(CHANNEL, note)
