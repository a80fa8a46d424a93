from __future__ import annotations


def actor_name(actor) -> str:
    """Who acted, as a username string ("kitchen" when the system did)."""
    if actor is None:
        return "kitchen"
    if hasattr(actor, "get_username"):
        return actor.get_username() or "anonymous"
    return str(actor)
