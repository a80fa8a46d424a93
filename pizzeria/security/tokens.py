"""API tokens that expire, and their issue and revocation.

DRF's own Token model, checked for age, rather than django-rest-knox: the customer API issues
one token per account and the whole suite, the seed and the admin already use that model; what
it lacked is an end (API_TOKEN_TTL_HOURS after issue) and a way to revoke it (logout), both a
few lines on top. Knox's extra — several tokens per user, stored hashed — would mean a data
migration of every issued token for no behaviour the brief asks for; see docs/security.md.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import AuthenticationFailed

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User


def token_lifetime() -> dt.timedelta:
    return dt.timedelta(hours=float(settings.API_TOKEN_TTL_HOURS))


def token_expired(token: Token) -> bool:
    return token.created <= timezone.now() - token_lifetime()


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key: str) -> tuple[User, Token]:
        # DRF's check, with the user's customer profile (which every customer API call reads)
        # joined into the same query instead of asked for next.
        try:
            token = Token.objects.select_related("user", "user__customer").get(key=key)
        except Token.DoesNotExist:
            raise AuthenticationFailed(_("Invalid token.")) from None
        if not token.user.is_active:
            raise AuthenticationFailed(_("User inactive or deleted."))
        user = token.user
        if token_expired(token):
            raise AuthenticationFailed("Token has expired; get a new one from /api/auth/token/.")
        return user, token


def token_issue(*, user: User) -> Token:
    """The user's current token, or a new one when it has none or it has expired."""
    with transaction.atomic():
        token = Token.objects.select_for_update().filter(user=user).first()
        if token is not None and not token_expired(token):
            return token
        if token is not None:
            token.delete()
        try:
            with transaction.atomic():
                return Token.objects.create(user=user)
        except IntegrityError:  # a concurrent login issued it first
            return Token.objects.get(user=user)


def token_revoke(*, user: User | AnonymousUser) -> int:
    """Delete the user's token: every client using it is signed out at once."""
    if not user.is_authenticated:  # nothing to revoke (the logout view lets only the signed-in in)
        return 0
    deleted, _ = Token.objects.filter(user=user).delete()
    return deleted
