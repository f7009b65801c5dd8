"""The two-stage complaints process end to end on the time-skipping server, through real timers,
the real activities, the records database and the outbox."""

from __future__ import annotations

from datetime import date

import pytest

from domain.complaint import ClosureReason, Stage, Status
from tests.support import (
    CATEGORY,
    JO,
    SAM,
    clock,
    complaint,
    decided,
    letter_keys,
    letter_text,
    london,
    settle,
    start,
    status,
    step,
    travel_to,
)
from tests.workflows.test_complaint_steps import ended
from workflows import search_attributes as sa

# received Friday after closing; counts as received; contact due; acknowledgement due; the working
# day before that (bank holidays: 25 and 28 Dec 2026; 27 and 28 Dec 2027, substitutes)
CHRISTMAS = {
    2026: (
        london(2026, 12, 18, 17, 0),
        date(2026, 12, 21),
        date(2026, 12, 24),
        date(2026, 12, 30),
        date(2026, 12, 29),
    ),
    2027: (
        london(2027, 12, 17, 17, 0),
        date(2027, 12, 20),
        date(2027, 12, 23),
        date(2027, 12, 29),
        date(2027, 12, 24),
    ),
}


@pytest.mark.parametrize("year", sorted(CHRISTMAS))
async def test_two_stage_case_across_christmas(env, worker, settings, store, year):
    received_at, received_on, contact_due, ack_due, day_before = CHRISTMAS[year]
    await travel_to(env, received_at)
    case = complaint(received_at)
    ref = case.reference
    handle = await start(env.client, case, settings.task_queue)

    s = await status(handle)
    assert (s.stage, s.status) == (Stage.triage, Status.awaiting_triage)
    assert s.received_on == received_on  # Friday after 16:45 counts as Monday
    assert clock(s, "s1_contact").due_day == contact_due
    assert clock(s, "s1_acknowledgement").due_day == ack_due
    assert clock(s, "s1_acknowledgement").due.astimezone(london(2026, 1, 1).tzinfo).hour == 17

    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "assign", by="manager.mo", owner=JO)
    await step(env.client, ref, "record_contact", by=JO.id, notes="Called Ann, agreed points")

    # The owner is reminded one working day before the acknowledgement is due.
    await travel_to(env, london(day_before.year, day_before.month, day_before.day, 8, 40))
    await settle(handle)
    assert "reminder:s1_acknowledgement:0" not in letter_keys(store, ref)
    await travel_to(env, london(day_before.year, day_before.month, day_before.day, 12))
    await settle(handle)
    assert "reminder:s1_acknowledgement:0" in letter_keys(store, ref)

    s = await step(
        env.client,
        ref,
        "acknowledge",
        by=JO.id,
        points=case.points,
        outcome_sought="Boiler fixed and an apology",
    )
    assert s.status is Status.investigating
    assert clock(s, "s1_acknowledgement").met_at is not None
    assert clock(s, "s1_acknowledgement").breached_at is None
    response_due = clock(s, "s1_response").due_day
    ack = letter_text(store, ref, "s1_acknowledgement")
    assert "Boiler repair appointment missed twice" in ack and "Nobody called back" in ack
    assert f"{response_due.day} {response_due:%B %Y}" in ack

    await travel_to(env, london(response_due.year, response_due.month, response_due.day, 9))
    decisions = [
        decided(case.points[0], "upheld", "Two visits were missed."),
        decided(case.points[1], "partly_upheld", "One call was late."),
    ]
    s = await step(
        env.client,
        ref,
        "respond",
        by=JO.id,
        decisions=decisions,
        summary="We got this wrong and have booked the repair.",
        remedies={
            "apology": "We are sorry.",
            "actions": [{"action": "Repair boiler", "owner": "Repairs", "due": "2028-02-01"}],
            "compensation": "75.00",
        },
    )
    assert s.status is Status.escalation_window
    window_due = clock(s, "escalation_window").due_day
    response = letter_text(store, ref, "s1_response")
    assert "£75.00" in response and f"{window_due.day} {window_due:%B %Y}" in response

    rejected = await _rejection(env.client, ref, "escalate", by=JO.id, reviewer=JO)
    assert "took part in stage 1" in rejected

    s = await step(env.client, ref, "escalate", by="ali.advisor", reviewer=SAM)
    assert (s.stage, s.status) == (Stage.stage2, Status.awaiting_acknowledgement)
    assert s.owner and s.owner.id == SAM.id
    await step(env.client, ref, "record_contact", by=SAM.id, notes="Discussed stage 2")
    s = await step(
        env.client,
        ref,
        "acknowledge",
        by=SAM.id,
        points=case.points,
        outcome_sought="Boiler fixed and an apology",
    )
    s2_due = clock(s, "s2_response").due_day
    assert f"{s2_due.day} {s2_due:%B %Y}" in letter_text(store, ref, "s2_acknowledgement")
    s = await step(
        env.client,
        ref,
        "respond",
        by=SAM.id,
        decisions=decisions,
        summary="The review agrees with stage 1 and adds compensation.",
        remedies={"compensation": "150.00", "compensation_basis": "adds"},
    )
    assert (s.stage, s.closure_reason) == (Stage.closed, ClosureReason.final_response)
    final = letter_text(store, ref, "s2_response")
    assert "0300 111 3000" in final and "info@housing-ombudsman.org.uk" in final
    assert "so we are offering <strong>£225.00</strong> in all" in final

    # The case is kept until the boiler is repaired and the compensation paid ...
    assert s.actions_outstanding and s.compensation.outstanding == 225
    await step(env.client, ref, "complete_action", by=SAM.id, action=1, note="Boiler repaired")
    await step(env.client, ref, "record_compensation", by=SAM.id, amount="225.00")
    # ... and while the resident may still take it to the Ombudsman.
    result = await ended(env, handle)
    assert result.closure_reason is ClosureReason.final_response
    assert not result.overdue and all(c.breached_at is None for c in result.clocks)
    sent = letter_keys(store, ref)
    for key in (
        "s1_acknowledgement",
        "s1_response",
        "escalation_received",
        "s2_acknowledgement",
        "s2_response",
        "actions_completed:1",
    ):
        assert sent.count(key) == 1
    assert len(sent) == len(set(sent))
    # Each letter is in the outbox once.
    outbox = sorted(p.name for p in (settings.outbox_dir / ref).iterdir())
    assert len(outbox) == len(sent)
    # The records database holds the case and its whole timeline.
    record = store.get_case(ref)
    assert record is not None and record.status == "closed"
    assert [e.seq for e in store.events(ref)] == list(range(1, len(result.timeline) + 1))
    # (Search attributes of closed cases are checked against the dev server in
    # tests/test_dev_server.py: this test server cannot describe an unset datetime attribute.)


async def test_every_deadline_missed_is_recorded_and_alerted(env, worker, settings, store):
    received_at = london(2027, 2, 1, 10)
    await travel_to(env, received_at)
    case = complaint(received_at, owner=JO.model_dump())
    ref = case.reference
    handle = await start(env.client, case, settings.task_queue)

    await travel_to(env, london(2027, 2, 15, 9))  # both stage 1 intake clocks are past
    s = await settle(handle)
    assert s.overdue
    assert clock(s, "s1_contact").breached_at and clock(s, "s1_acknowledgement").breached_at
    assert s.status is Status.awaiting_triage  # still waits for the step
    sent = letter_keys(store, ref)
    for key in ("s1_contact", "s1_acknowledgement"):
        assert f"breach:{key}:owner" in sent and f"breach:{key}:team" in sent
        assert f"reminder:{key}:0" in sent
    breach = letter_text(store, ref, "breach:s1_contact:team")
    assert ref in breach and "Ann Example" not in breach
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.OVERDUE) is True
    assert store.get_case(ref).overdue

    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "record_contact", by=JO.id, notes="Late call")
    s = await step(env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="x")
    assert clock(s, "s1_contact").breached_at  # a breach stays on the record once met late
    assert clock(s, "s1_contact").met_at

    await travel_to(env, london(2027, 3, 31, 9))  # stage 1 response missed
    s = await settle(handle)
    assert clock(s, "s1_response").breached_at and s.overdue
    decisions = [{"point": p, "decision": "not_upheld", "reasons": "r"} for p in case.points]
    await step(env.client, ref, "respond", by=JO.id, decisions=decisions, summary="Late answer")
    await step(env.client, ref, "escalate", by="ali.advisor")
    await travel_to(env, london(2027, 6, 1, 9))  # every stage 2 clock missed, nobody assigned
    s = await settle(handle)
    for key in ("s2_contact", "s2_acknowledgement"):
        assert clock(s, key).breached_at
    assert "breach:s2_contact:team" in letter_keys(store, ref)
    await step(env.client, ref, "assign", by="manager.mo", owner=SAM)
    await step(env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
    await travel_to(env, london(2027, 9, 1, 9))
    s = await settle(handle)
    assert clock(s, "s2_response").breached_at
    s = await step(env.client, ref, "respond", by=SAM.id, decisions=decisions, summary="Final")
    assert s.closure_reason is ClosureReason.final_response
    result = await ended(env, handle)
    breached = {c.key for c in result.clocks if c.breached_at}
    assert breached == {
        "s1_contact",
        "s1_acknowledgement",
        "s1_response",
        "s2_contact",
        "s2_acknowledgement",
        "s2_response",
    }
    sent = letter_keys(store, ref)
    assert len(sent) == len(set(sent))


async def _rejection(client, reference, name, **payload):
    from workflows.cases import StepRejected

    with pytest.raises(StepRejected) as info:
        await step(client, reference, name, **payload)
    return str(info.value)


async def test_a_case_lodged_long_after_receipt_records_its_breaches_at_once(
    env, worker, settings, store
):
    """Logged months late (or the worker was down past a due date): every passed clock is
    breached straight away, without reminders, and the case still waits for its steps."""
    await travel_to(env, london(2027, 10, 4, 10))
    case = complaint(london(2027, 2, 1, 10), owner=JO.model_dump())
    handle = await start(env.client, case, settings.task_queue)
    s = await settle(handle)
    assert clock(s, "s1_contact").breached_at and clock(s, "s1_acknowledgement").breached_at
    assert s.overdue and s.status is Status.awaiting_triage
    sent = letter_keys(store, case.reference)
    assert "breach:s1_contact:team" in sent and "reminder:s1_contact:0" not in sent
    s = await step(env.client, case.reference, "accept", by=JO.id)
    assert s.status is Status.awaiting_acknowledgement
