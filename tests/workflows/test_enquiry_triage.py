"""Triage from an enquiry: convert to a complaint, record a service request (and a complaint about
it while it carries on), social media and chief-executive routing, callbacks, refused steps."""

from __future__ import annotations

from datetime import date

import pytest

from domain.complaint import Stage
from domain.enquiry import EnquiryOutcome, EnquiryState
from tests.support import (
    JO,
    SAM,
    clock,
    enquiry,
    enquiry_step,
    letter_keys,
    letter_text,
    london,
    settle,
    start_enquiry,
    travel_to,
)
from workflows.cases import CaseNotFound, StepRejected, perform_enquiry_step

WEDNESDAY = london(2027, 3, 3, 10, 0)


async def test_converted_complaint_counts_from_the_enquirys_receipt(env, worker, settings, store):
    friday = london(2027, 3, 5, 17, 0)  # counts as received Monday 8 March
    await travel_to(env, friday)
    case = enquiry(friday, channel="help_email", subject="Missed repair")
    await start_enquiry(env.client, case, settings.task_queue)
    await travel_to(env, london(2027, 3, 10, 11, 0))  # two working days later

    s = await enquiry_step(
        env.client,
        case.reference,
        "convert",
        by=JO.id,
        points=["Repair appointment missed"],
        outcome_sought="The repair done",
    )
    assert s.state is EnquiryState.closed and s.outcome is EnquiryOutcome.converted_to_complaint
    (complaint_ref,) = s.linked_references
    complaint = await settle(env.client.get_workflow_handle(f"complaint-{complaint_ref}"))
    assert complaint.stage is Stage.triage
    assert complaint.received_at == case.received_at
    assert complaint.received_on == date(2027, 3, 8)
    # 3 and 5 working days from Monday 8 March, not from the day it was converted
    assert clock(complaint, "s1_contact").due_day == date(2027, 3, 11)
    assert clock(complaint, "s1_acknowledgement").due_day == date(2027, 3, 15)
    assert complaint.linked_references == [case.reference]
    assert complaint.points == ["Repair appointment missed"]
    assert store.get_case(complaint_ref).kind == "complaint"
    assert store.get_case(case.reference).linked_references == [complaint_ref]


async def test_service_request_monitored_and_a_complaint_while_it_carries_on(
    env, worker, settings, store
):
    await travel_to(env, WEDNESDAY)
    case = enquiry(WEDNESDAY, channel="phone", subject="Broken gate")
    handle = await start_enquiry(env.client, case, settings.task_queue)
    ref = case.reference

    s = await enquiry_step(
        env.client,
        ref,
        "record_service_request",
        by=JO.id,
        description="Repair the garden gate latch.",
        target_date=date(2027, 3, 17),
    )
    assert s.state is EnquiryState.service_request
    assert clock(s, "service_request_target").due_day == date(2027, 3, 17)
    assert clock(s, "enquiry_reply").met_at is not None
    logged = letter_text(store, ref, "service_request:1")
    assert "gate latch" in logged and "Wednesday 17 March 2027" in logged

    await travel_to(env, london(2027, 3, 12, 10, 0))
    s = await enquiry_step(
        env.client,
        ref,
        "raise_complaint",
        by=JO.id,
        dissatisfaction="Nobody has come and nobody calls back.",
        points=["No contact about the gate repair"],
    )
    assert s.state is EnquiryState.service_request  # the request carries on
    (complaint_ref,) = s.linked_references
    complaint = await settle(env.client.get_workflow_handle(f"complaint-{complaint_ref}"))
    assert complaint.linked_references == [ref]
    assert complaint.received_on == date(2027, 3, 12)
    assert "Nobody has come" in complaint.description

    # the target date passes: the request is overdue and staff are told
    await travel_to(env, london(2027, 3, 17, 17, 30))
    s = await settle(handle)
    assert s.overdue
    assert "breach:service_request_target:team" in letter_keys(store, ref)

    s = await enquiry_step(env.client, ref, "reply", by=JO.id, message="The latch is fixed.")
    assert s.outcome is EnquiryOutcome.service_request_done


async def test_public_social_media_post_gets_the_private_channel_reply(
    env, worker, settings, store
):
    await travel_to(env, WEDNESDAY)
    case = enquiry(
        WEDNESDAY,
        channel="social_media",
        public_post=True,
        enquirer={"name": "Ann Example", "social_handle": "@annexample"},
    )
    handle = await start_enquiry(env.client, case, settings.task_queue)
    s = await settle(handle)
    assert s.suggested_public_reply and case.reference in s.suggested_public_reply
    assert "private message" in s.suggested_public_reply

    s = await enquiry_step(
        env.client,
        case.reference,
        "reply",
        by=JO.id,
        message=s.suggested_public_reply,
        closes=False,
    )
    assert s.state is EnquiryState.awaiting_resident
    assert clock(s, "enquiry_reply").met_at is not None
    assert letter_keys(store, case.reference) == []  # posted on the platform, not a letter
    assert "on social media; waiting for the resident" in s.timeline[-1].summary

    # no email or address: a written reply is refused with what to do instead
    with pytest.raises(StepRejected, match="no email address"):
        await perform_enquiry_step(
            env.client, case.reference, "reply", {"by": JO.id, "message": "Hi", "via": "email"}
        )
    with pytest.raises(StepRejected, match="contact details"):
        await perform_enquiry_step(env.client, case.reference, "convert", {"by": JO.id})


async def test_message_to_the_chief_executive_goes_to_the_resolution_team(
    env, worker, settings, store
):
    await travel_to(env, WEDNESDAY)
    case = enquiry(
        WEDNESDAY,
        channel="team_email",
        addressed_to="our Chief Executive",
        addressed_to_executive=True,
    )
    handle = await start_enquiry(env.client, case, settings.task_queue)
    s = await settle(handle)
    assert s.team == "Customer resolution team"
    assert "routed" in [t.step for t in s.timeline]
    routed = letter_text(store, case.reference, "routed")
    assert "Customer resolution team" in routed and "Wednesday 10 March 2027" in routed


async def test_callback_goes_to_the_named_person_unless_they_are_away(env, worker, settings, store):
    await travel_to(env, WEDNESDAY)
    here = enquiry(WEDNESDAY, channel="callback", callback_from=JO.model_dump())
    away = enquiry(
        WEDNESDAY,
        channel="callback",
        callback_from=SAM.model_dump(),
        callback_from_returns_on=date(2027, 3, 22),
    )
    s = await settle(await start_enquiry(env.client, here, settings.task_queue))
    assert s.owner == JO
    s = await settle(await start_enquiry(env.client, away, settings.task_queue))
    assert s.owner is None  # in the team queue for another member of the team
    assert "another member of the team" in s.timeline[-1].summary
    row = store.get_case(away.reference)
    assert row.owner_id is None


async def test_steps_refused_with_reasons(env, worker, settings, store):
    await travel_to(env, WEDNESDAY)
    case = enquiry(WEDNESDAY, channel="online_form")
    await start_enquiry(env.client, case, settings.task_queue)
    ref = case.reference

    with pytest.raises(StepRejected, match="'raise_complaint' is not possible while the enquiry"):
        await perform_enquiry_step(
            env.client, ref, "raise_complaint", {"by": JO.id, "dissatisfaction": "x"}
        )
    with pytest.raises(StepRejected, match="after the current due date"):
        await perform_enquiry_step(
            env.client,
            ref,
            "holding_reply",
            {"by": JO.id, "estimated_date": "2027-03-04", "reasons": "Busy"},
        )
    with pytest.raises(StepRejected, match="target date is in the past"):
        await perform_enquiry_step(
            env.client,
            ref,
            "record_service_request",
            {"by": JO.id, "description": "Fix", "target_date": "2027-03-01"},
        )
    await enquiry_step(env.client, ref, "close", by=JO.id, reason="Duplicate of another enquiry")
    with pytest.raises(CaseNotFound, match="closed already"):
        await perform_enquiry_step(env.client, ref, "reply", {"by": JO.id, "message": "Hi"})
    assert store.get_case(ref).closure_reason == "closed_without_reply"
