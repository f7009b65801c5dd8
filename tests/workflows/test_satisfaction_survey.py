"""The satisfaction survey letter (issue 10, part 5): when a complaint closes after we responded
(the stage 1 escalation window ran out, or the final response), the resident gets one letter, by
their preferred method, with a signed link to the survey. Not after a withdrawal or a decline.
Time-skipped: the window lapses by travelling, never by sleeping."""

from __future__ import annotations

import re

from domain.complaint import ClosureReason, Stage
from letters.survey import read_token
from tests.support import ALI, SAM, letter_keys, letter_text, london, settle, step, travel_to
from tests.workflows.test_complaint_steps import (
    MONDAY,
    decisions,
    ended,
    investigating,
    lodged,
    responded,
)

SURVEY = "satisfaction_survey"
LINK = re.compile(r"http://127\.0\.0\.1:8000/survey/([A-Za-z0-9_.\-]+)")
AFTER_THE_WINDOW = london(2027, 4, 1, 9)  # responded Mon 1 Mar 2027: the window ends 31 Mar


def _survey(store, ref):
    row = store.get_letter(ref, SURVEY)
    assert row is not None and row.sent, f"no survey letter; sent: {letter_keys(store, ref)}"
    return row


def _token(settings, ref: str, body: str) -> str:
    tokens = set(LINK.findall(body))
    assert len(tokens) == 1, tokens
    (token,) = tokens
    read = read_token(settings, token)
    assert read is not None and read.reference == ref
    return token


async def test_the_survey_goes_once_by_email_when_the_window_closes_the_case(
    env, worker, settings, store
):
    case, handle = await responded(env, settings)
    ref = case.reference
    assert SURVEY not in letter_keys(store, ref)  # the window is open: not closed yet

    await travel_to(env, AFTER_THE_WINDOW)
    s = await settle(handle)
    assert s.closure_reason is ClosureReason.escalation_window_lapsed
    sent = letter_keys(store, ref)
    assert sent.count(SURVEY) == 1
    assert sent.index("case_closed") < sent.index(SURVEY)  # after the letter closing the case
    row = _survey(store, ref)
    assert (row.delivery, row.recipient) == ("email", "ann@example.org")
    token = _token(settings, ref, row.body_html or "")
    assert f'href="http://127.0.0.1:8000/survey/{token}"' in (row.body_html or "")
    assert "Ann Example" not in token

    # A late escalation and a final response close the case again: no second survey.
    await step(
        env.client,
        ref,
        "escalate",
        by=ALI.id,
        reviewer=SAM,
        exceptional_circumstances="The resident was in hospital.",
    )
    await step(env.client, ref, "record_contact", by=SAM.id, notes="Discussed stage 2")
    await step(
        env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="Apology"
    )
    s = await step(
        env.client,
        ref,
        "respond",
        by=SAM.id,
        decisions=decisions(case.points, "not_upheld"),
        summary="The review agrees.",
    )
    assert s.closure_reason is ClosureReason.final_response
    await settle(handle)
    assert letter_keys(store, ref).count(SURVEY) == 1
    assert _token(settings, ref, _survey(store, ref).body_html or "") == token


async def test_the_survey_goes_by_post_with_the_link_printed_and_the_phone_number(
    env, worker, settings, store
):
    resident = {
        "name": "Ann Example",
        "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "TN13 1AA"},
        "preferred_contact": "post",
    }
    case, handle = await responded(env, settings, resident=resident)
    ref = case.reference
    await travel_to(env, AFTER_THE_WINDOW)
    await settle(handle)
    row = _survey(store, ref)
    assert row.delivery == "post"
    body = letter_text(store, ref, SURVEY)
    _token(settings, ref, body)
    assert settings.landlord.phone in body


async def test_the_survey_goes_after_the_final_response(env, worker, settings, store):
    case, handle = await responded(env, settings)
    ref = case.reference
    await step(env.client, ref, "escalate", by=ALI.id, reviewer=SAM)
    await step(env.client, ref, "record_contact", by=SAM.id, notes="Discussed stage 2")
    await step(
        env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="Apology"
    )
    assert SURVEY not in letter_keys(store, ref)
    s = await step(
        env.client,
        ref,
        "respond",
        by=SAM.id,
        decisions=decisions(case.points, "not_upheld"),
        summary="The review agrees.",
    )
    assert (s.stage, s.closure_reason) == (Stage.closed, ClosureReason.final_response)
    result = await ended(env, handle)
    assert result.closure_reason is ClosureReason.final_response
    sent = letter_keys(store, ref)
    assert sent.count(SURVEY) == 1
    assert sent.index("s2_response") < sent.index(SURVEY)
    _token(settings, ref, letter_text(store, ref, SURVEY))


async def test_no_survey_after_a_withdrawal(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    await step(env.client, case.reference, "withdraw", by="jo.officer", reason="Sorted now.")
    await ended(env, handle)
    assert SURVEY not in letter_keys(store, case.reference)


async def test_no_survey_after_a_decline(env, worker, settings, store):
    declined, handle = await lodged(env, settings, MONDAY)
    await step(
        env.client,
        declined.reference,
        "decline",
        by="jo.officer",
        reason="legal_proceedings",
        explanation="A disrepair claim is with the court.",
    )
    await ended(env, handle)
    assert letter_keys(store, declined.reference) == ["refusal"]
