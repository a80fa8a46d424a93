"""Staff pages check the permission of their action, never is_staff or a group name.

The role matrix (docs/security.md, "Roles and permissions") says which group holds which permission; the
seed (orders/management/commands/seed.py) gives them, and tests/security/test_role_matrix.py
walks every cell.
"""

from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied


def has_any_perm(user, perms: tuple[str, ...]) -> bool:
    return bool(getattr(user, "is_active", False)) and any(user.has_perm(p) for p in perms)


def permission_required(*perms: str, message: str = "You do not have permission for this page."):
    """A page for staff holding one of `perms`: anonymous → login page, anyone else → 403."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_any_perm(request.user, perms):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def admin_permission(perm: str):
    """A ModelAdmin `has_<name>_permission` method for an admin action's `permissions=[name]`."""

    def check(self, request) -> bool:
        return request.user.is_active and request.user.has_perm(perm)

    check.__doc__ = f"Holds {perm}."
    return check
