"""Hostile strings in the admin: search boxes, list filters, the login form, actions with hostile
selections, add forms. Never a 5xx, and a refusal changes nothing (as test_hostile_strings_api.py
for the API; strategies in tests/security/hostile.py).
"""

from __future__ import annotations

import pytest
from django.contrib import admin
from hypothesis import given
from hypothesis import strategies as st

from tests.security.hostile import (
    FUZZ,
    FUZZ_FEW,
    big_ids,
    hostile_text,
    query,
    quoted,
    snapshot,
)

pytestmark = pytest.mark.django_db


# --- the admin's search boxes and list filters ------------------------------------------------------


def changelists() -> list[str]:
    return sorted(f"/admin/{m._meta.app_label}/{m._meta.model_name}/" for m in admin.site._registry)


@FUZZ_FEW
@given(
    term=hostile_text,
    filters=st.dictionaries(
        st.sampled_from(
            [
                "waiting",
                "stock",
                "status__exact",
                "status",
                "handler",
                "o",
                "p",
                "e",
                "all",
                "created_at__gte",
                "occurred_at__lt",
                "id__in",
            ]
        ),
        hostile_text | big_ids.map(str),
        max_size=3,
    ),
)
def test_admin_search_and_filters(staff_client, term, filters):
    before = snapshot()
    for path in changelists():
        response = staff_client.get(f"{path}?{query({'q': term, **filters})}")
        assert response.status_code < 500, (path, term[:40], filters, response.content[:300])
    assert snapshot() == before


@FUZZ
@given(username=hostile_text, password=hostile_text)
def test_admin_login_form(client, username, password):
    before = snapshot()
    response = client.post(
        "/admin/login/",
        data=f"username={quoted(username)}&password={quoted(password)}",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code < 500
    assert snapshot() == before


# --- the admin's actions and add forms --------------------------------------------------------------


def admin_actions() -> list[tuple[str, str]]:
    """(changelist path, action name) for every admin action, delete_selected included."""
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = type(
        "Superuser",
        (),
        {"has_perm": lambda *a: True, "is_active": True, "is_staff": True, "is_superuser": True},
    )()
    found = []
    for model, model_admin in admin.site._registry.items():
        path = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        found += [(path, name) for name in model_admin.get_actions(request)]
    return sorted(found)


@FUZZ
@given(
    selected=st.lists(hostile_text | big_ids.map(str), min_size=1, max_size=3), index=st.integers(0, 10_000)
)
def test_admin_actions_with_hostile_selections(staff_client, selected, index):
    actions = admin_actions()
    path, action = actions[index % len(actions)]
    before = snapshot()
    body = "&".join(
        [f"action={quoted(action)}", "index=0"] + [f"_selected_action={quoted(s)}" for s in selected]
    )
    response = staff_client.post(path, data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, (path, action, selected, response.content[:300])
    assert snapshot() == before


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(
            [
                "name",
                "description",
                "base_price",
                "code",
                "multiplier",
                "price",
                "url",
                "event_types",
                "secret",
                "quantity",
                "minimum_threshold",
                "supplier_email",
                "phone",
                "email",
            ]
        ),
        hostile_text | big_ids.map(str) | st.sampled_from(["NaN", "1e309", "-0", "Infinity"]),
        max_size=5,
    ),
    model=st.sampled_from(
        [
            "orders/pizza",
            "orders/topping",
            "orders/size",
            "kitchen/ingredient",
            "integrations/webhooksubscription",
        ]
    ),
)
def test_admin_add_forms(staff_client, fields, model):
    before = snapshot()
    response = staff_client.post(
        f"/admin/{model}/add/", data=query(fields), content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code < 500, (model, fields, response.content[:300])
    if response.status_code == 200:  # the form again, with its errors: nothing saved
        assert snapshot() == before
