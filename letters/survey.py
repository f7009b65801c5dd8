"""The satisfaction survey's signed link: `{PUBLIC_BASE_URL}/survey/{token}`.

The token is signed with SURVEY_SECRET (itsdangerous, salted for this one use) and carries only
the case reference and a random nonce: no personal data, since URLs get logged. The letters
activity makes it from the nonce the workflow put in the letter's context, so a retried activity
renders the same link; the admin app checks it. It works once: the records keep one reply per
case and per nonce (records/satisfaction.py)."""

from __future__ import annotations

from itsdangerous import BadData, URLSafeSerializer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config import Settings
from domain.references import PATTERN as REFERENCE_PATTERN

SALT = "satisfaction-survey"


class SurveySecretUnset(RuntimeError):
    """No SURVEY_SECRET: the programs set one up at start (worker.client.with_survey_secret)."""


class SurveyToken(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(pattern=REFERENCE_PATTERN.pattern)
    nonce: str = Field(pattern="^[0-9a-f]{32}$")


def _serializer(settings: Settings) -> URLSafeSerializer:
    if not settings.survey_secret:
        raise SurveySecretUnset("SURVEY_SECRET is not set: survey links cannot be made or checked")
    return URLSafeSerializer(settings.survey_secret, salt=SALT)


def make_token(settings: Settings, reference: str, nonce: str) -> str:
    token = SurveyToken(reference=reference, nonce=nonce)
    return _serializer(settings).dumps([token.reference, token.nonce])


def read_token(settings: Settings, token: str) -> SurveyToken | None:
    """The token's reference and nonce, or None when it is not one we signed."""
    try:
        reference, nonce = _serializer(settings).loads(token)
        return SurveyToken(reference=reference, nonce=nonce)
    except (BadData, ValueError, TypeError, ValidationError):
        return None


def survey_url(settings: Settings, reference: str, nonce: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/survey/{make_token(settings, reference, nonce)}"
