"""Who acted: the one rule for turning the user (or name) behind a change into the string stored
on rows and events."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

# A signed-in user, a name (a username, or a process such as "inventory"), or None: nobody in
# particular (the system).
Actor: TypeAlias = "AbstractBaseUser | AnonymousUser | str | None"


def actor_name(actor: Actor, *, nobody: str = "system") -> str:
    """Who acted, as a username string; `nobody` when no one in particular did."""
    if actor is None:
        return nobody
    if hasattr(actor, "get_username"):
        return actor.get_username() or "anonymous"
    return str(actor)
