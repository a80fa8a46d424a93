"""Admin: the secret is generated, shown once, stored encrypted; rotation signs twice for a while."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from standardwebhooks import Webhook, WebhookVerificationError

from integrations.models import WebhookSubscription
from tests.capture import capture_events
from tests.factories import make_order
from tests.integrations.helpers import reload, subscribe

pytestmark = pytest.mark.django_db

ADD = "/admin/integrations/webhooksubscription/add/"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=]{40,}")


def test_adding_a_subscription_shows_its_generated_secret_once(admin_client, receiver):
    response = admin_client.post(
        ADD,
        {
            "name": "CRM",
            "url": receiver.url,
            "content_mode": "binary",
            "event_types": ["com.mariopizzeria.order.placed"],
            "contact_fields": ["customer_email"],
        },
    )

    assert response.status_code == 200, response.content
    assert "no-store" in response["Cache-Control"]
    [secret] = SECRET.findall(response.content.decode())
    sub = WebhookSubscription.objects.get(name="CRM")
    assert sub.content_mode == "binary" and sub.contact_fields == ["customer_email"]
    # Stored encrypted, never in clear; the admin shows only the hint from now on.
    assert secret not in sub.secret_encrypted
    assert sub.signing_secrets() == [secret]
    change = admin_client.get(f"/admin/integrations/webhooksubscription/{sub.pk}/change/").content.decode()
    listing = admin_client.get("/admin/integrations/webhooksubscription/").content.decode()
    for page in (change, listing):
        assert secret not in page and not SECRET.search(page)
        assert sub.secret_hint in page


def test_the_admin_refuses_a_private_target(admin_client, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    response = admin_client.post(
        ADD, {"name": "inside", "url": "http://127.0.0.1:8000/hook", "content_mode": "structured"}
    )

    assert response.status_code == 200
    assert "loopback address" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_rotation_signs_with_both_secrets_during_the_overlap_then_only_the_new_one(admin_client, receiver):
    sub, old = subscribe(receiver.url)

    response = admin_client.post(
        "/admin/integrations/webhooksubscription/", {"action": "rotate_secret", "_selected_action": [sub.pk]}
    )
    [new] = SECRET.findall(response.content.decode())
    assert new != old
    with capture_events(only=[sub.handler_name]):
        make_order()

    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(request.body, request.headers, json_parse=False)

    # when the overlap window is over, only the new secret signs
    WebhookSubscription.objects.filter(pk=sub.pk).update(
        previous_secret_expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    with capture_events(only=[sub.handler_name]):
        make_order()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    Webhook(new).verify(request.body, request.headers, json_parse=False)
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(request.body, request.headers, json_parse=False)
    assert reload(sub).secret_hint.endswith(new[-4:])


def test_deactivate_and_activate_are_actions(admin_client, receiver):
    sub, _ = subscribe(receiver.url)

    admin_client.post(
        "/admin/integrations/webhooksubscription/", {"action": "deactivate", "_selected_action": [sub.pk]}
    )
    assert reload(sub).active is False
    with capture_events(only=[sub.handler_name]):
        make_order()
    assert receiver.count() == 0

    admin_client.post(
        "/admin/integrations/webhooksubscription/", {"action": "activate", "_selected_action": [sub.pk]}
    )
    assert reload(sub).active is True
    with capture_events(only=[sub.handler_name]):
        make_order()
    assert receiver.count() == 1
