"""Each staff step as the people using the system see it: what the case says (the `status`
Query), the letters in the ledger and the outbox, the records database, and the plain-English
reason when a step is refused. A refused step must leave the workflow's history untouched."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.complaint import (
    DECLINE_REASON_TEXT,
    ClosureReason,
    ComplaintStatus,
    DeclineReason,
    LodgeComplaint,
    Stage,
    Status,
    workflow_id,
)
from domain.people import StaffMember
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.support import (
    ALI,
    CATEGORY,
    JO,
    SAM,
    clock,
    complaint,
    decided,
    letter_keys,
    letter_text,
    london,
    policy_with,
    settle,
    start,
    status,
    step,
    travel_to,
)
from workflows.cases import CaseNotFound, StepRejected

OMBUDSMAN_PHONE = "0300 111 3000"
OMBUDSMAN_EMAIL = "info@housing-ombudsman.org.uk"
# Monday 1 March 2027: stage 1 response due Mon 15 Mar (10 working days); the escalation window
# from a response that day ends Wed 31 Mar (20 working days over Good Friday and Easter Monday).
MONDAY = london(2027, 3, 1, 10)
KIM = StaffMember(id="kim.clerk", name="Kim Clerk", email="kim.clerk@wkha.example")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid(api_key="SG.test") as fake:
        yield fake


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """conftest's settings; a test that asks for `fake_sendgrid` sends email through it."""
    if "fake_sendgrid" not in request.fixturenames:
        return settings
    fake: FakeSendGrid = request.getfixturevalue("fake_sendgrid")
    return settings.model_copy(update={"sendgrid_api_key": "SG.test", "sendgrid_host": fake.url})


# --------------------------------------------------------------------------- helpers


def handle_for(client: Client, ref: str) -> WorkflowHandle:
    return client.get_workflow_handle(workflow_id(ref))


async def history_length(handle: WorkflowHandle) -> int:
    return len([e async for e in handle.fetch_history_events()])


async def execution_status(client: Client, handle: WorkflowHandle) -> WorkflowExecutionStatus:
    """Running or completed. (`handle.describe()` fails on this test server once a datetime
    search attribute has been unset, as closing a case does.)"""
    raw = await client.workflow_service.describe_workflow_execution(
        DescribeWorkflowExecutionRequest(
            namespace=client.namespace, execution=WorkflowExecution(workflow_id=handle.id)
        )
    )
    return WorkflowExecutionStatus(raw.workflow_execution_info.status)


async def finished(client: Client, handle: WorkflowHandle) -> ComplaintStatus:
    """The case once the workflow has completed (its result says only where it ended; the
    status query answers for a completed workflow too): it performs its last record first, and
    this server's long poll for the result can return before that (real seconds, bounded)."""
    for _ in range(200):
        if await execution_status(client, handle) is WorkflowExecutionStatus.COMPLETED:
            ended = await handle.result()
            case = await status(handle)
            assert (ended.stage, ended.status) == (case.stage, case.status)
            return case
        await asyncio.sleep(0.05)
    raise AssertionError("the workflow did not complete")


async def ended(env: WorkflowEnvironment, handle: WorkflowHandle) -> ComplaintStatus:
    """The result of a closed complaint: it is kept while the resident may still take it to the
    Ombudsman (`kept_until`), so skip past that, then wait for it to complete."""
    case = await status(handle)
    if case.kept_until is not None:
        await travel_to(env, case.kept_until + timedelta(minutes=1))
    return await finished(env.client, handle)


# The time-skipping test server has no speculative workflow tasks: it records the workflow task
# that ran a rejected Update's validator (scheduled, started, completed) where a real server drops
# it. Anything else a refused step added (an accepted Update, a command) would be a real change.
WORKFLOW_TASK_EVENTS = frozenset(
    {
        EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    }
)


async def rejected(client: Client, ref: str, name: str, **payload: Any) -> str:
    """Perform a step the case must refuse; check the refusal left the workflow history
    untouched and return its plain-English reason."""
    handle = handle_for(client, ref)
    await settle(handle)
    before = [e async for e in handle.fetch_history_events()]
    with pytest.raises(StepRejected) as info:
        await step(client, ref, name, **payload)
    after = [e async for e in handle.fetch_history_events()]
    assert after[: len(before)] == before
    added = [
        EventType.Name(e.event_type)
        for e in after[len(before) :]
        if e.event_type not in WORKFLOW_TASK_EVENTS
    ]
    assert added == [], f"a refused step must not reach history: {added}"
    return str(info.value)


def decisions(points: list[str], decision: str = "upheld") -> list[dict[str, str]]:
    return [decided(p, decision, "Our records show this.") for p in points]


async def lodged(
    env: WorkflowEnvironment, settings: Settings, received_at: datetime, **overrides: Any
) -> tuple[LodgeComplaint, WorkflowHandle]:
    await travel_to(env, received_at)
    case = complaint(received_at, **overrides)
    return case, await start(env.client, case, settings.task_queue)


async def investigating(
    env: WorkflowEnvironment, settings: Settings, received_at: datetime = MONDAY, **overrides: Any
) -> tuple[LodgeComplaint, WorkflowHandle]:
    """A stage 1 case owned by Jo, who called the resident and acknowledged it the day it came."""
    case, handle = await lodged(env, settings, received_at, **overrides)
    ref = case.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "assign", by="manager.mo", owner=JO)
    await step(env.client, ref, "record_contact", by=JO.id, notes="Called to agree the points")
    await step(
        env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="An apology"
    )
    return case, handle


async def responded(
    env: WorkflowEnvironment, settings: Settings, received_at: datetime = MONDAY, **overrides: Any
) -> tuple[LodgeComplaint, WorkflowHandle]:
    """A case answered at stage 1 on the day it was received: the escalation window is open."""
    case, handle = await investigating(env, settings, received_at, **overrides)
    await step(
        env.client,
        case.reference,
        "respond",
        by=JO.id,
        decisions=decisions(case.points, "not_upheld"),
        summary="We did what we said we would.",
    )
    return case, handle


async def at_stage2(
    env: WorkflowEnvironment, settings: Settings
) -> tuple[LodgeComplaint, WorkflowHandle]:
    """Escalated on the day of the stage 1 response, reviewed by Sam: awaiting acknowledgement."""
    case, handle = await responded(env, settings)
    await step(env.client, case.reference, "escalate", by=ALI.id, reviewer=SAM)
    return case, handle


def timeline_steps(case: ComplaintStatus) -> list[str]:
    return [item.step for item in case.timeline]


# --------------------------------------------------------------------------- out of order

OUT_OF_ORDER = {
    "acknowledge while awaiting triage": (
        "triage",
        "acknowledge",
        {"by": JO.id, "points": ["p"], "outcome_sought": "o"},
        "at triage (awaiting triage)",
        "accept, assign, decline, record_contact, record_service_request, withdraw",
    ),
    "respond before acknowledgement": (
        "accepted",
        "respond",
        {"by": JO.id, "decisions": decisions(["p"]), "summary": "s"},
        "at stage1 (awaiting acknowledgement)",
        "acknowledge, assign, classify, decline, record_contact, refer_to_ombudsman, withdraw",
    ),
    "escalate while stage 1 is investigating": (
        "investigating",
        "escalate",
        {"by": ALI.id},
        "at stage1 (investigating)",
        "assign, classify, extend, record_contact, refer_to_ombudsman, respond, withdraw",
    ),
}


@pytest.mark.parametrize(
    ("reach", "name", "payload", "state", "possible"),
    list(OUT_OF_ORDER.values()),
    ids=list(OUT_OF_ORDER),
)
async def test_a_step_out_of_order_is_refused_naming_the_steps_possible_now(
    env, worker, settings, store, reach, name, payload, state, possible
):
    if reach == "investigating":
        case, handle = await investigating(env, settings)
    else:
        case, handle = await lodged(env, settings, MONDAY)
        if reach == "accepted":
            await step(env.client, case.reference, "accept", by=JO.id)
    before = await status(handle)

    reason = await rejected(env.client, case.reference, name, **payload)

    assert reason == f"'{name}' is not possible while the case is {state}. Steps possible now: " + (
        f"{possible}."
    )
    after = await status(handle)
    assert (after.stage, after.status, after.letters) == (
        before.stage,
        before.status,
        before.letters,
    )
    assert [e.step for e in store.events(case.reference)] == timeline_steps(after)


# --------------------------------------------------------------------------- bad data


async def test_an_extension_must_be_discussed_with_the_resident(env, worker, settings):
    case, handle = await investigating(env, settings)
    reason = await rejected(
        env.client,
        case.reference,
        "extend",
        by=JO.id,
        reasons="Waiting for a survey",
        working_days=5,
    )
    assert "discuss an extension with the resident" in reason
    assert "tick that you have discussed it with them" in reason
    s = await status(handle)
    assert clock(s, "s1_response").due_day == date(2027, 3, 15)
    assert clock(s, "s1_response").extensions == 0


async def test_standard_extensions_add_at_most_10_working_days_in_all_at_stage_1(
    env, worker, settings, store
):
    case, handle = await investigating(env, settings)
    ref = case.reference
    extend = {"by": JO.id, "reasons": "Waiting for a survey", "discussed_with_resident": True}

    s = await step(env.client, ref, "extend", working_days=6, **extend)
    assert clock(s, "s1_response").due_day == date(2027, 3, 23)

    reason = await rejected(env.client, ref, "extend", working_days=5, **extend)
    assert "at most 10 working days in all at stage 1; 4 remain" in reason
    assert "exceptional extension" in reason
    assert clock(await status(handle), "s1_response").due_day == date(2027, 3, 23)

    s = await step(env.client, ref, "extend", working_days=4, **extend)
    response = clock(s, "s1_response")
    assert response.due_day == date(2027, 3, 31)  # 24, 25, (Good Friday, Easter Monday), 30, 31
    assert (response.extensions, response.extended_by_working_days) == (2, 10)
    await settle(handle)
    assert {"s1_extension_1", "s1_extension_2"} <= set(letter_keys(store, ref))


async def test_exceptional_extension_needs_standard_first_agreement_and_a_later_date(
    env, worker, settings
):
    case, handle = await investigating(env, settings)
    ref = case.reference
    exceptional = {"by": JO.id, "reasons": "Specialist report", "exceptional": True}

    reason = await rejected(
        env.client,
        ref,
        "extend",
        resident_agreed=True,
        agreed_date=date(2027, 4, 30),
        **exceptional,
    )
    assert "only after the standard extension of up to 10 working days" in reason

    await step(
        env.client,
        ref,
        "extend",
        by=JO.id,
        reasons="Waiting for a survey",
        working_days=2,
        discussed_with_resident=True,
    )  # now due Wed 17 Mar

    agreed = "tick that the resident agreed to the new date"
    dated = "needs the date agreed with the resident"
    for agreement, wanted in (
        ({}, [agreed, dated]),  # both at once
        ({"resident_agreed": True}, [dated]),
        ({"agreed_date": date(2027, 4, 30)}, [agreed]),
    ):
        reason = await rejected(env.client, ref, "extend", **agreement, **exceptional)
        lines = reason.splitlines()
        assert len(lines) == len(wanted), (agreement, lines)
        for line, text in zip(lines, wanted, strict=True):
            assert text in line, agreement

    for too_early in (date(2027, 3, 17), date(2027, 3, 16)):
        reason = await rejected(
            env.client, ref, "extend", resident_agreed=True, agreed_date=too_early, **exceptional
        )
        assert "must be after the current due date (Wed 17 Mar 2027)" in reason

    s = await status(handle)
    assert clock(s, "s1_response").due_day == date(2027, 3, 17)
    assert not clock(s, "s1_response").exceptional_extension


async def test_no_extension_once_the_response_deadline_has_passed(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    await travel_to(env, london(2027, 3, 16, 9))  # due close of business Mon 15 Mar
    s = await settle(handle)
    assert clock(s, "s1_response").breached_at is not None

    reason = await rejected(
        env.client,
        case.reference,
        "extend",
        by=JO.id,
        reasons="Still waiting",
        working_days=5,
        discussed_with_resident=True,
    )
    assert "was due Mon 15 Mar 2027 and that has passed" in reason
    assert "Send the response now" in reason
    assert "s1_extension_1" not in letter_keys(store, case.reference)


async def test_a_response_must_decide_every_point_of_the_complaint(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    reason = await rejected(
        env.client,
        case.reference,
        "respond",
        by=JO.id,
        decisions=decisions(case.points[:1]),
        summary="Half an answer",
    )
    assert "Give a decision on every point of the complaint" in reason
    assert f"missing: '{case.points[1]}'" in reason
    assert case.points[0] not in reason
    assert (await status(handle)).status is Status.investigating
    assert "s1_response" not in letter_keys(store, case.reference)


async def test_contact_cannot_be_recorded_in_the_future(env, worker, settings):
    case, handle = await lodged(env, settings, MONDAY)
    tomorrow = (await env.get_current_time()) + timedelta(days=1)
    reason = await rejected(
        env.client, case.reference, "record_contact", by=JO.id, at=tomorrow, notes="Will call"
    )
    assert "contact time is in the future" in reason
    assert clock(await status(handle), "s1_contact").met_at is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"by": JO.id, "reasons": "r", "working_days": 0, "discussed_with_resident": True},
            "working_days",
        ),
        ({"reasons": "r", "working_days": 3, "discussed_with_resident": True}, "by"),
        (
            {"by": JO.id, "reasons": "r", "working_days": 21, "discussed_with_resident": True},
            "working_days",
        ),
        ({"by": JO.id, "reasons": "r", "working_days": 3, "discussed": True}, "discussed"),
    ],
    ids=["zero days", "missing by", "over 20 days", "unknown field"],
)
async def test_malformed_steps_are_refused_before_reaching_temporal(
    env, worker, settings, payload, field
):
    case, handle = await investigating(env, settings)
    before = await history_length(handle)
    with pytest.raises(ValidationError) as info:
        await step(env.client, case.reference, "extend", **payload)
    assert [e["loc"] for e in info.value.errors()] == [(field,)]
    assert await history_length(handle) == before


# --------------------------------------------------------------------------- extensions


async def test_a_standard_extension_adds_working_days_and_tells_the_resident(
    env, worker, settings, store
):
    # Received and acknowledged Thu 11 Mar 2027: response due Thu 25 Mar. Three working days
    # more skip Good Friday (26 Mar) and Easter Monday (29 Mar): Thu 1 Apr.
    case, handle = await investigating(env, settings, london(2027, 3, 11, 10))
    ref = case.reference
    assert clock(await status(handle), "s1_response").due_day == date(2027, 3, 25)

    s = await step(
        env.client,
        ref,
        "extend",
        by=JO.id,
        reasons="We are waiting for the heating engineer's report.",
        working_days=3,
        discussed_with_resident=True,
    )
    response = clock(s, "s1_response")
    assert response.due_day == date(2027, 4, 1)
    assert response.original_due.date() == date(2027, 3, 25)
    assert (response.extensions, response.extended_by_working_days) == (1, 3)
    assert response.remind_at.date() == date(2027, 3, 31)  # reminder re-armed for the new date
    assert s.timeline[-1].summary == "Response extended: stage 1 response now due Thu 01 Apr 2027"

    await settle(handle)
    row = store.get_letter(ref, "s1_extension_1")
    assert row is not None and row.sent and row.kind == "extension"
    text = letter_text(store, ref, "s1_extension_1")
    assert "heating engineer" in text
    assert "We will now respond by Thursday 1 April 2027" in text
    assert "Thursday 25 March 2027" in text
    assert OMBUDSMAN_PHONE in text
    extend = [e for e in store.events(ref) if e.step == "extend"]
    assert len(extend) == 1 and extend[0].actor == JO.id
    assert extend[0].details["previous_due"].startswith("2027-03-25")


async def test_an_exceptional_extension_moves_to_the_agreed_date(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    ref = case.reference
    await step(
        env.client,
        ref,
        "extend",
        by=JO.id,
        reasons="Waiting for a survey",
        working_days=10,
        discussed_with_resident=True,
    )  # Mon 15 Mar + 10 working days over Easter: Wed 31 Mar
    s = await step(
        env.client,
        ref,
        "extend",
        by=JO.id,
        reasons="The structural engineer cannot visit until late April.",
        exceptional=True,
        resident_agreed=True,
        agreed_date=date(2027, 5, 3),  # the early May bank holiday
    )
    response = clock(s, "s1_response")
    assert response.due_day == date(2027, 4, 30)  # the last working day on or before it
    assert response.exceptional_extension and response.extensions == 2
    assert response.extended_by_working_days == 10
    assert s.next_deadline and s.next_deadline.key == "s1_response"

    await settle(handle)
    row = store.get_letter(ref, "s1_extension_2")
    assert row is not None and row.sent and row.kind == "exceptional_extension"
    text = letter_text(store, ref, "s1_extension_2")
    assert "structural engineer" in text
    assert "we will respond by Friday 30 April 2027" in text
    assert "Wednesday 31 March 2027" in text
    assert OMBUDSMAN_PHONE in text
    assert store.get_case(ref).next_deadline.date() == date(2027, 4, 30)


async def test_an_exceptional_extension_must_actually_move_the_due_date(
    env, worker, settings, store
):
    case, handle = await investigating(env, settings)
    ref = case.reference
    await step(
        env.client,
        ref,
        "extend",
        by=JO.id,
        reasons="Waiting for a survey",
        working_days=8,
        discussed_with_resident=True,
    )  # Mon 15 Mar + 8 working days: Thu 25 Mar, the day before Good Friday
    assert clock(await status(handle), "s1_response").due_day == date(2027, 3, 25)
    # Easter Monday is after Thu 25 Mar, but the last working day on or before it is Thu 25 Mar.
    # Only the calendar (an activity) knows that, so the step fails after its validator.
    with pytest.raises(StepRejected) as info:
        await step(
            env.client,
            ref,
            "extend",
            by=JO.id,
            reasons="Agreed with the resident: after Easter",
            exceptional=True,
            resident_agreed=True,
            agreed_date=date(2027, 3, 29),
        )
    assert "is not a working day" in str(info.value) and "later date" in str(info.value)
    s = await settle(handle)
    assert clock(s, "s1_response").due_day == date(2027, 3, 25)
    assert not clock(s, "s1_response").exceptional_extension
    assert "s1_extension_2" not in letter_keys(store, ref)


async def test_stage_2_allows_20_working_days_of_standard_extension(env, worker, settings, store):
    case, handle = await at_stage2(env, settings)
    ref = case.reference
    s = await step(
        env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="An apology"
    )
    assert clock(s, "s2_response").due_day == date(2027, 3, 31)
    extend = {"by": SAM.id, "reasons": "Independent survey", "discussed_with_resident": True}

    s = await step(env.client, ref, "extend", working_days=12, **extend)  # more than stage 1's 10
    assert clock(s, "s2_response").due_day == date(2027, 4, 16)
    reason = await rejected(env.client, ref, "extend", working_days=9, **extend)
    assert "at most 20 working days in all at stage 2; 8 remain" in reason
    s = await step(env.client, ref, "extend", working_days=8, **extend)
    response = clock(s, "s2_response")
    assert (response.due_day, response.extended_by_working_days) == (date(2027, 4, 28), 20)
    await settle(handle)
    assert "Wednesday 28 April 2027" in letter_text(store, ref, "s2_extension_2")


# --------------------------------------------------------------------------- decline


async def test_the_12_month_limit_counts_from_when_the_resident_became_aware(
    env, worker, settings, store
):
    case, handle = await lodged(
        env,
        settings,
        MONDAY,
        incident_date="2025-06-01",
        became_aware_date="2026-06-01",
    )
    reason = await rejected(
        env.client,
        case.reference,
        "decline",
        by=JO.id,
        reason="over_12_months",
        explanation="The incident was in 2025.",
    )
    assert "runs from when the resident became aware of the issue (01 June 2026)" in reason
    assert "the limit is 01 June 2027" in reason
    assert "Accept the complaint, or choose another reason" in reason
    assert (await status(handle)).status is Status.awaiting_triage
    assert "refusal" not in letter_keys(store, case.reference)


async def test_over_12_months_needs_a_date_to_count_from(env, worker, settings):
    case, _ = await lodged(env, settings, MONDAY)
    reason = await rejected(
        env.client, case.reference, "decline", by=JO.id, reason="over_12_months", explanation="Old"
    )
    assert "needs the incident date or the date the resident became aware" in reason
    assert "neither is recorded" in reason


async def test_a_complaint_made_over_12_months_late_is_declined_with_a_letter(
    env, worker, settings, store
):
    case, handle = await lodged(
        env,
        settings,
        MONDAY,
        incident_date="2025-09-01",
        became_aware_date="2026-01-15",
    )
    ref = case.reference
    s = await step(
        env.client,
        ref,
        "decline",
        by=JO.id,
        reason="over_12_months",
        explanation="You told us about the leak in January 2026.",
    )
    assert (s.stage, s.status, s.closure_reason) == (
        Stage.closed,
        Status.closed,
        ClosureReason.declined,
    )
    result = await ended(env, handle)
    assert result.closure_reason is ClosureReason.declined
    assert all(not c.open for c in result.clocks)

    text = letter_text(store, ref, "refusal")
    assert "We cannot accept it because it was made more than 12 months after the incident" in text
    assert "You told us about the leak in January 2026." in text
    assert "Housing Ombudsman Service" in text and OMBUDSMAN_PHONE in text
    assert OMBUDSMAN_EMAIL in text
    record = store.get_case(ref)
    assert (record.status, record.closure_reason) == ("closed", "declined")


async def test_an_accepted_complaint_can_still_be_declined_for_legal_proceedings(
    env, worker, settings, store
):
    case, handle = await lodged(env, settings, MONDAY)
    ref = case.reference
    await step(env.client, ref, "accept", by=JO.id)
    s = await step(
        env.client,
        ref,
        "decline",
        by=JO.id,
        reason="legal_proceedings",
        explanation="Your solicitor has issued a disrepair claim.",
    )
    assert s.closure_reason is ClosureReason.declined
    await ended(env, handle)
    text = letter_text(store, ref, "refusal")
    assert DECLINE_REASON_TEXT[DeclineReason.legal_proceedings] in text
    assert "disrepair claim" in text and OMBUDSMAN_PHONE in text
    declined = [e for e in store.events(ref) if e.step == "decline"]
    assert declined[0].details == {"reason": "legal_proceedings"}


# --------------------------------------------------------------------------- closing early


async def test_a_service_request_closes_the_case_with_a_letter(env, worker, settings, store):
    case, handle = await lodged(env, settings, MONDAY)
    ref = case.reference
    s = await step(
        env.client,
        ref,
        "record_service_request",
        by=JO.id,
        notes="A repair has been booked for Thursday 4 March.",
    )
    assert (s.stage, s.closure_reason) == (Stage.closed, ClosureReason.service_request)
    result = await ended(env, handle)
    assert result.allowed_steps == []
    assert letter_keys(store, ref) == ["service_request"]
    assert "A repair has been booked for Thursday 4 March." in letter_text(
        store, ref, "service_request"
    )
    assert store.get_case(ref).closure_reason == "service_request"


async def test_withdrawal_at_stage_1_closes_the_case_and_stops_its_clocks(
    env, worker, settings, store
):
    case, handle = await investigating(env, settings, owner=JO.model_dump())
    ref = case.reference
    s = await step(env.client, ref, "withdraw", by=JO.id, reason="The boiler has been fixed.")
    assert (s.stage, s.closure_reason) == (Stage.closed, ClosureReason.withdrawn)
    assert s.next_deadline is None and not s.overdue
    assert clock(s, "s1_response").stopped_at is not None

    await travel_to(env, london(2027, 5, 3, 12))  # weeks past every stage 1 deadline
    result = await ended(env, handle)
    assert result.closure_reason is ClosureReason.withdrawn
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.COMPLETED
    sent = letter_keys(store, ref)
    assert "withdrawal" in sent
    assert not [k for k in sent if k.startswith("breach:")]
    assert "The boiler has been fixed." in letter_text(store, ref, "withdrawal")
    record = store.get_case(ref)
    assert (record.closure_reason, record.next_deadline, record.overdue) == (
        "withdrawn",
        None,
        False,
    )


# --------------------------------------------------------------------------- escalation window


async def test_the_case_closes_when_nobody_asks_for_stage_2_but_may_be_escalated_late(
    env, worker, settings, store
):
    case, handle = await responded(env, settings)
    ref = case.reference
    assert clock(await status(handle), "escalation_window").due_day == date(2027, 3, 31)

    await travel_to(env, london(2027, 4, 1, 9))
    s = await settle(handle)
    assert (s.stage, s.closure_reason) == (Stage.closed, ClosureReason.escalation_window_lapsed)
    assert clock(s, "escalation_window").lapsed_at is not None
    assert s.allowed_steps == ["escalate", "refer_to_ombudsman"]
    assert "case_closed" in letter_keys(store, ref)
    assert "20 working days" in letter_text(store, ref, "case_closed")
    assert store.get_case(ref).closure_reason == "escalation_window_lapsed"
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.RUNNING

    reason = await rejected(env.client, ref, "escalate", by=ALI.id, reviewer=SAM)
    assert "after the 20 working days to escalate ended (Wed 31 Mar 2027)" in reason
    assert "only with the exceptional circumstances recorded" in reason

    s = await step(
        env.client,
        ref,
        "escalate",
        by=ALI.id,
        reviewer=SAM,
        exceptional_circumstances="The resident was in hospital.",
    )
    assert (s.stage, s.status, s.closure_reason) == (
        Stage.stage2,
        Status.awaiting_acknowledgement,
        None,
    )
    # counted from the request, Thu 1 Apr: 3 and 5 working days
    assert clock(s, "s2_contact").due_day == date(2027, 4, 6)
    assert clock(s, "s2_acknowledgement").due_day == date(2027, 4, 8)
    assert (
        "late, exceptional circumstances: The resident was in hospital." in s.timeline[-1].summary
    )
    await settle(handle)
    assert "escalation_received" in letter_keys(store, ref)
    assert store.get_case(ref).stage == "stage2"


async def test_a_request_made_in_time_but_recorded_after_the_window_needs_no_excuse(
    env, worker, settings, store
):
    case, handle = await responded(env, settings)
    ref = case.reference
    await travel_to(env, london(2027, 4, 1, 9))
    assert (await settle(handle)).closure_reason is ClosureReason.escalation_window_lapsed

    s = await step(
        env.client, ref, "escalate", by=ALI.id, requested_at=london(2027, 3, 31, 14), reviewer=SAM
    )
    assert (s.stage, s.status) == (Stage.stage2, Status.awaiting_acknowledgement)
    # counted from the request, Wed 31 Mar
    assert clock(s, "s2_contact").due_day == date(2027, 4, 5)
    assert clock(s, "s2_acknowledgement").due_day == date(2027, 4, 7)
    assert s.timeline[-1].summary == "Escalated to stage 2"


async def test_after_the_late_escalation_grace_period_the_workflow_completes(
    env, worker, settings, store
):
    # lodged under a policy with no time kept for the Ombudsman, so the grace period is the end
    grace_only = policy_with("complaints", late_escalation_grace_days=5).model_copy(
        update={"ombudsman": None}
    )
    case, handle = await responded(env, settings, policy=grace_only)
    await travel_to(env, london(2027, 4, 1, 9))
    s = await settle(handle)
    assert s.closure_reason is ClosureReason.escalation_window_lapsed
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.RUNNING

    await travel_to(env, s.closed_at + timedelta(days=4, hours=23))
    await settle(handle)
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.RUNNING
    await travel_to(env, s.closed_at + timedelta(days=5, minutes=1))
    result = await finished(env.client, handle)
    assert result.closure_reason is ClosureReason.escalation_window_lapsed
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.COMPLETED
    with pytest.raises(CaseNotFound):
        await step(
            env.client, case.reference, "escalate", by=ALI.id, exceptional_circumstances="Away"
        )
    assert letter_keys(store, case.reference).count("case_closed") == 1


async def test_once_the_grace_period_ends_the_case_no_longer_offers_escalation(
    env, worker, settings, store
):
    case, handle = await responded(
        env, settings, policy=policy_with("complaints", late_escalation_grace_days=5)
    )
    await travel_to(env, london(2027, 4, 1, 9))
    s = await settle(handle)
    await travel_to(env, s.closed_at + timedelta(days=5, minutes=1))
    # still kept while the resident may take it to the Ombudsman, but not for escalation
    s = await settle(handle)
    assert s.allowed_steps == ["refer_to_ombudsman"]
    assert store.get_case(case.reference).data["allowed_steps"] == ["refer_to_ombudsman"]
    reason = await rejected(
        env.client, case.reference, "escalate", by=ALI.id, exceptional_circumstances="Away"
    )
    assert "Steps possible now: refer_to_ombudsman." in reason
    result = await ended(env, handle)
    assert result.allowed_steps == []
    assert store.get_case(case.reference).data["allowed_steps"] == []
    assert letter_keys(store, case.reference).count("case_closed") == 1


# --------------------------------------------------------------------------- stage 2


async def test_stage_2_must_be_reviewed_by_someone_not_involved_at_stage_1(
    env, worker, settings, store
):
    case, handle = await lodged(env, settings, MONDAY)
    ref = case.reference
    await step(env.client, ref, "accept", by="triage.tom", category=CATEGORY)
    await step(env.client, ref, "assign", by="manager.mo", owner=JO)  # the stage 1 officer
    await step(env.client, ref, "record_contact", by=JO.id, notes="Called to agree the points")
    await step(env.client, ref, "acknowledge", by=KIM.id, points=case.points, outcome_sought="x")
    await step(
        env.client,
        ref,
        "respond",
        by=JO.id,
        decisions=decisions(case.points, "not_upheld"),
        summary="We did what we said we would.",
    )
    s = await step(env.client, ref, "escalate", by="desk.clerk")
    assert (s.stage, s.owner) == (Stage.stage2, None)
    assert set(s.stage1_participants) == {"triage.tom", JO.id, KIM.id}

    for participant in (JO, KIM):
        reason = await rejected(env.client, ref, "assign", by="manager.mo", owner=participant)
        assert f"{participant.name} took part in stage 1 of this complaint" in reason
        assert "Choose another reviewer" in reason
        reason = await rejected(
            env.client,
            ref,
            "acknowledge",
            by=participant.id,
            points=case.points,
            outcome_sought="x",
        )
        assert f"{participant.id} took part in stage 1" in reason
        assert "Only someone who took no part in stage 1 may do this at stage 2" in reason

    await step(env.client, ref, "assign", by="manager.mo", owner=SAM)
    s = await step(
        env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x"
    )
    assert (s.status, s.owner.id) == (Status.investigating, SAM.id)
    await settle(handle)
    assert "s2_acknowledgement" in letter_keys(store, ref)


async def test_new_issues_at_stage_2_open_a_linked_stage_1_complaint(env, worker, settings, store):
    case, handle = await at_stage2(env, settings)
    ref = case.reference
    s = await step(
        env.client,
        ref,
        "raise_new_issues",
        by=SAM.id,
        points=["The fence was damaged by the contractor"],
        outcome_sought="Repair the fence",
    )
    (new_ref,) = s.linked_references
    assert new_ref != ref
    assert (s.stage, s.status) == (Stage.stage2, Status.awaiting_acknowledgement)

    child = env.client.get_workflow_handle(workflow_id(new_ref))
    assert child.id == f"complaint-{new_ref}"
    assert await execution_status(env.client, child) is WorkflowExecutionStatus.RUNNING
    await settle(child)
    new = await child.query("status", result_type=ComplaintStatus)
    assert (new.stage, new.status) == (Stage.triage, Status.awaiting_triage)
    assert new.linked_references == [ref]
    assert new.points == ["The fence was damaged by the contractor"]
    assert new.received_on == date(2027, 3, 1)
    assert clock(new, "s1_contact").due_day == date(2027, 3, 4)
    assert clock(new, "s1_acknowledgement").due_day == date(2027, 3, 8)
    assert new.resident == case.resident

    await settle(handle)
    text = letter_text(store, ref, f"new_complaint_{new_ref}")
    assert new_ref in text and "The fence was damaged by the contractor" in text
    assert store.get_case(ref).linked_references == [new_ref]
    assert store.get_case(new_ref).linked_references == [ref]


# --------------------------------------------------------------------------- delivery


async def test_a_resident_who_asked_for_post_gets_letters_by_post(env, worker, settings, store):
    resident = {
        "name": "Bob Postal",
        "address": {"lines": ["Flat 2, Elm Court", "Tonbridge"], "postcode": "TN9 1AB"},
        "preferred_contact": "post",
    }
    case, handle = await investigating(env, settings, resident=resident)
    await settle(handle)
    ref = case.reference
    row = store.get_letter(ref, "s1_acknowledgement")
    assert row is not None and row.sent
    assert row.delivery == "post"
    assert row.location and row.location.endswith(".html")
    posted = Path(row.location).read_text(encoding="utf-8")
    assert "Flat 2, Elm Court" in posted and "TN9 1AB" in posted and "Bob Postal" in posted
    assert not list((settings.outbox_dir / ref).glob("*.eml"))


async def test_a_letter_refused_outright_is_recorded_and_the_case_carries_on(
    env, worker, settings, store, fake_sendgrid
):
    case, handle = await lodged(env, settings, MONDAY)
    ref = case.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    fake_sendgrid.fail_next(
        400,
        errors=[{"message": "Invalid address", "field": "personalizations.0.to.0.email"}],
    )
    s = await step(env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="x")
    assert s.status is Status.investigating

    s = await settle(handle)
    failed = [item for item in s.timeline if item.step == "letter_failed"]
    assert len(failed) == 1
    assert "'s1_acknowledgement' could not be sent and needs attention" in failed[0].summary
    assert "HTTP 400" in failed[0].summary
    assert [e.details for e in store.events(ref) if e.step == "letter_failed"] == [
        {"letter_key": "s1_acknowledgement"}
    ]
    row = store.get_letter(ref, "s1_acknowledgement")
    assert row is not None and not row.sent

    s = await step(
        env.client,
        ref,
        "respond",
        by=JO.id,
        decisions=decisions(case.points),
        summary="We are sorry.",
    )
    assert s.status is Status.escalation_window
    await settle(handle)
    assert letter_keys(store, ref) == ["s1_response"]
    assert [r["custom_args"]["letter_key"] for r in fake_sendgrid.accepted] == ["s1_response"]
