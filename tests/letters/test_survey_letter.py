"""The satisfaction survey letter and its signed link: the link carries the case reference and
the nonce only, signed with SURVEY_SECRET; the same request renders the same link (a retried
activity); a changed token or another secret is refused."""

from __future__ import annotations

import re

import pytest

from config import Settings
from domain.letters import Delivery, LetterKind
from letters.render import LetterDataError, render_letter
from letters.survey import make_token, read_token
from worker.client import SurveySecretMissing, with_survey_secret

NONCE = "0123456789abcdef0123456789abcdef"
LINK = re.compile(r"http://127\.0\.0\.1:8000/survey/([A-Za-z0-9_.\-]+)")


def _links(text: str) -> set[str]:
    return set(LINK.findall(text))


def test_the_email_links_to_the_survey(make_request, settings, case):
    request = make_request(LetterKind.satisfaction_survey, Delivery.email, survey_nonce=NONCE)
    letter = render_letter(request, settings, now=case.now)
    (token,) = _links(letter.html)
    assert f'href="http://127.0.0.1:8000/survey/{token}"' in letter.html
    read = read_token(settings, token)
    assert read is not None and (read.reference, read.nonce) == (case.reference, NONCE)
    assert case.resident_name not in token  # no personal data in the URL
    again = render_letter(request, settings, now=case.now)
    assert _links(again.html) == {token}  # a retried activity sends the same link


def test_the_post_letter_prints_the_link_and_the_phone_number(make_request, settings, case):
    request = make_request(LetterKind.satisfaction_survey, Delivery.post, survey_nonce=NONCE)
    text = " ".join(render_letter(request, settings, now=case.now).text.split())
    assert len(_links(text)) == 1
    assert f"call us on {settings.landlord.phone}" in text


def test_a_tampered_token_or_another_secret_is_refused(settings):
    token = make_token(settings, "CMP-2026-0042", NONCE)
    assert read_token(settings, token) is not None
    assert read_token(settings, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert read_token(settings, "not-a-token") is None
    other = settings.model_copy(update={"survey_secret": "another secret"})
    assert read_token(other, token) is None


def test_without_a_secret_the_letter_is_not_made(make_request, settings, case):
    request = make_request(LetterKind.satisfaction_survey, Delivery.email, survey_nonce=NONCE)
    unset = settings.model_copy(update={"survey_secret": None})
    with pytest.raises(LetterDataError, match="SURVEY_SECRET"):
        render_letter(request, unset, now=case.now)


def test_production_refuses_to_run_without_a_secret():
    with pytest.raises(SurveySecretMissing, match="SURVEY_SECRET"):
        with_survey_secret(Settings(app_env="production"))
    assert with_survey_secret(Settings(survey_secret="set")).survey_secret == "set"
