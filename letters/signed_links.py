"""The links we put in residents' letters (the satisfaction survey, the resident's own case
page), signed with SURVEY_SECRET through itsdangerous, each use under its own salt so a token made
for one is never taken by the other. A token carries no personal data: URLs get logged."""

from __future__ import annotations

from typing import Any

from itsdangerous import BadData, URLSafeSerializer

from config import Settings


class SurveySecretUnset(RuntimeError):
    """No SURVEY_SECRET: the programs set one up at start (worker.client.with_survey_secret)."""


def _serializer(settings: Settings, salt: str) -> URLSafeSerializer:
    if not settings.survey_secret:
        raise SurveySecretUnset("SURVEY_SECRET is not set: links cannot be made or checked")
    return URLSafeSerializer(settings.survey_secret, salt=salt)


def sign(settings: Settings, salt: str, values: list[Any]) -> str:
    return _serializer(settings, salt).dumps(values)


def unsign(settings: Settings, salt: str, token: str) -> Any:
    """What `sign` signed under `salt`, or None when the token is not one we signed."""
    try:
        return _serializer(settings, salt).loads(token)
    except (BadData, SurveySecretUnset):
        return None
