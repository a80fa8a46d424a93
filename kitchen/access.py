from __future__ import annotations

import functools

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from kitchen import selectors


def kitchen_staff_required(view):
    """Anonymous → the login page; signed in but not staff (customers) → 403."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not selectors.is_kitchen_staff(request.user):
            raise PermissionDenied("The kitchen display is for staff.")
        return view(request, *args, **kwargs)

    return wrapped
