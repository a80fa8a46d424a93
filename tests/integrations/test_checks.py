"""Deploy checks refuse integration settings that are for development only."""

from integrations.checks import integrations_deploy_check


def ids(settings_overrides, settings) -> set[str | None]:
    for name, value in settings_overrides.items():
        setattr(settings, name, value)
    return {problem.id for problem in integrations_deploy_check()}


def test_production_like_settings_pass(settings):
    overrides = {
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": False,
        "WEBHOOKS_HTTPS_ONLY": True,
        "CLOUDEVENTS_INBOUND_SECRET": "whsec_" + "QUJD" * 8,
    }
    assert ids(overrides, settings) == set()


def test_private_targets_http_and_the_dev_inbound_secret_are_flagged(settings):
    overrides = {
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": True,
        "WEBHOOKS_HTTPS_ONLY": False,
        "CLOUDEVENTS_INBOUND_SECRET": settings.DEV_CLOUDEVENTS_INBOUND_SECRET,
    }
    assert ids(overrides, settings) == {"integrations.W001", "integrations.W002", "integrations.E001"}


def test_an_inbound_secret_not_in_standard_webhooks_form_is_an_error(settings):
    overrides = {
        "WEBHOOKS_ALLOW_PRIVATE_TARGETS": False,
        "WEBHOOKS_HTTPS_ONLY": True,
        "CLOUDEVENTS_INBOUND_SECRET": "hunter2",
    }
    assert ids(overrides, settings) == {"integrations.E002"}
