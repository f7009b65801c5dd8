"""The satisfaction survey's signed link: `{PUBLIC_BASE_URL}/survey/{token}`.

The token is signed with SURVEY_SECRET (letters/signed_links.py, salted for this one use) and
carries only the case reference and a random nonce: no personal data, since URLs get logged. The
letters activity makes it from the nonce the workflow put in the letter's context, so a retried
activity renders the same link; the admin app checks it. It works once: the records keep one
reply per case and per nonce (records/satisfaction.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config import Settings
from domain.references import PATTERN as REFERENCE_PATTERN
from letters.signed_links import sign, unsign

SALT = "satisfaction-survey"


class SurveyToken(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(pattern=REFERENCE_PATTERN.pattern)
    nonce: str = Field(pattern="^[0-9a-f]{32}$")


def make_token(settings: Settings, reference: str, nonce: str) -> str:
    token = SurveyToken(reference=reference, nonce=nonce)
    return sign(settings, SALT, [token.reference, token.nonce])


def read_token(settings: Settings, token: str) -> SurveyToken | None:
    """The token's reference and nonce, or None when it is not one we signed."""
    try:
        reference, nonce = unsign(settings, SALT, token)
        return SurveyToken(reference=reference, nonce=nonce)
    except (ValueError, TypeError, ValidationError):
        return None


def survey_url(settings: Settings, reference: str, nonce: str) -> str:
    return f"{settings.public_base_url.rstrip('/')}/survey/{make_token(settings, reference, nonce)}"
