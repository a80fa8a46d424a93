"""Staff pages check the permission of their action, never is_staff or a group name.

The role matrix (docs/security.md, "Roles and permissions") says which group holds which permission; the
seed (orders/management/commands/seed.py) gives them, and tests/security/test_role_matrix.py
walks every cell.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

_P = ParamSpec("_P")
_R = TypeVar("_R")


def has_any_perm(user: User | AnonymousUser, perms: tuple[str, ...]) -> bool:
    return bool(getattr(user, "is_active", False)) and any(user.has_perm(p) for p in perms)


def permission_required(
    *perms: str, message: str = "You do not have permission for this page."
) -> Callable[
    [Callable[Concatenate[HttpRequest, _P], _R]],
    Callable[Concatenate[HttpRequest, _P], _R | HttpResponseRedirect],
]:
    """A page for staff holding one of `perms`: anonymous → login page, anyone else → 403."""

    def decorator(
        view: Callable[Concatenate[HttpRequest, _P], _R],
    ) -> Callable[Concatenate[HttpRequest, _P], _R | HttpResponseRedirect]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: _P.args, **kwargs: _P.kwargs) -> _R | HttpResponseRedirect:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_any_perm(request.user, perms):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def admin_permission(perm: str) -> Callable[[Any, HttpRequest], bool]:
    """A ModelAdmin `has_<name>_permission` method for an admin action's `permissions=[name]`."""

    def check(self: Any, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.has_perm(perm)

    check.__doc__ = f"Holds {perm}."
    return check
