"""`manage.py check --deploy`: integration settings that must not reach production."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

from integrations.secrets import PREFIX


@register(Tags.security, deploy=True)
def integrations_deploy_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        problems.append(
            Warning(
                "WEBHOOKS_ALLOW_PRIVATE_TARGETS is on: webhook subscriptions may target internal addresses (SSRF).",
                hint="Leave it off in production unless every subscriber is on a trusted private network.",
                id="integrations.W001",
            )
        )
    if not settings.WEBHOOKS_HTTPS_ONLY:
        problems.append(
            Warning(
                "WEBHOOKS_HTTPS_ONLY is off: signed events may travel in clear text.",
                id="integrations.W002",
            )
        )
    secret = settings.CLOUDEVENTS_INBOUND_SECRET
    if secret and secret == settings.DEV_CLOUDEVENTS_INBOUND_SECRET:
        problems.append(
            Error(
                "CLOUDEVENTS_INBOUND_SECRET is the public development secret: anyone could mark orders paid.",
                hint="Generate one: python -c \"import base64,os;print('whsec_'+base64.b64encode(os.urandom(32)).decode())\"",
                id="integrations.E001",
            )
        )
    elif secret and not secret.startswith(PREFIX):
        problems.append(
            Error(
                f"CLOUDEVENTS_INBOUND_SECRET must be a Standard Webhooks secret ({PREFIX}<base64>).",
                id="integrations.E002",
            )
        )
    return problems
