"""The resident's personal link to their case: `{PUBLIC_BASE_URL}/your-case/{token}`.

Every letter and email to a resident carries it (letters/render.py). The token is signed with
SURVEY_SECRET (itsdangerous, salted for this one use, so a survey token is never a case link and
the other way round) and carries only the case reference and the link's generation: no personal
data, since URLs get logged. The records keep each case's current generation (records/case_links
.py): staff revoke a link by moving the case on to the next generation, and a link whose case's
records are gone, or whose generation is not the current one, opens nothing."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from config import Settings
from domain.references import PATTERN as REFERENCE_PATTERN
from letters.signed_links import sign, unsign

SALT = "resident-case-link"
PATH = "/your-case"


class CaseLink(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    reference: str = Field(pattern=REFERENCE_PATTERN.pattern)
    generation: int = Field(ge=0)


def make_token(settings: Settings, reference: str, generation: int) -> str:
    link = CaseLink(reference=reference, generation=generation)
    return sign(settings, SALT, [link.reference, link.generation])


def read_token(settings: Settings, token: str) -> CaseLink | None:
    """The link's reference and generation, or None when it is not one we signed."""
    try:
        reference, generation = unsign(settings, SALT, token)
        return CaseLink(reference=reference, generation=generation)
    except (ValueError, TypeError, ValidationError):
        return None


def case_url(settings: Settings, reference: str, generation: int) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}{PATH}/{make_token(settings, reference, generation)}"
