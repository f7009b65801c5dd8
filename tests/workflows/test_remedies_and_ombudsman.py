"""What a complaint leads to, on its own clocks (issue 10, parts 2 and 3): each action a response
promises is tracked to completion, reminding whoever is responsible and breaching like any other
clock; the case shows "actions outstanding" until the last is done, then the resident gets the
completion letter; compensation offered and paid is recorded, and a stage 2 offer says whether
it replaces or adds to stage 1's; the Ombudsman's referral, requests for evidence, determination
and orders go on the case, the requests and orders on clocks; a closed case is kept for them.
Time-skipped: every reminder and breach comes by travelling, never by sleeping."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from temporalio.client import WorkflowExecutionStatus

from domain.complaint import ClosureReason, Stage
from tests.support import (
    ALI,
    JO,
    SAM,
    StaffMember,
    clock,
    letter_keys,
    letter_text,
    london,
    settle,
    step,
    travel_to,
)
from tests.workflows.test_complaint_steps import (
    decisions,
    execution_status,
    finished,
    investigating,
    rejected,
    responded,
)

KIM = StaffMember(id="kim.repairs", name="Kim Repairs", email="kim.repairs@wkha.example")
ACTIONS = [
    {
        "action": "Replace the boiler",
        "owner": "Our repairs team",
        "due": "2027-03-12",
        "responsible": KIM.model_dump(),
    },
    {
        "action": "Refund the missed appointment charge",
        "owner": "Our rents team",
        "due": "2027-03-17",
    },
]


def item(case, key: str, n: int):
    return next(c for c in case.clocks if c.key == key and c.item == n)


async def upheld_with_actions(env, settings, **remedies):
    case, handle = await investigating(env, settings)
    s = await step(
        env.client,
        case.reference,
        "respond",
        by=JO.id,
        decisions=decisions(case.points),
        summary="We got this wrong.",
        remedies={"apology": "We are sorry.", "actions": ACTIONS, **remedies},
    )
    return case, handle, s


async def test_actions_remind_their_owner_breach_and_end_with_the_completion_letter(
    env, worker, settings, store
):
    case, handle, s = await upheld_with_actions(env, settings)
    ref = case.reference
    assert [(a.n, a.open) for a in s.actions] == [(1, True), (2, True)]
    assert s.actions_outstanding
    first, second = item(s, "remedy_action", 1), item(s, "remedy_action", 2)
    assert (first.due_day, second.due_day) == (date(2027, 3, 12), date(2027, 3, 17))
    assert first.label == "Put right: action 1"  # never what the action says: labels reach ops

    # A working day before: the member of staff responsible for action 1 is reminded, the
    # owner (Jo) for action 2, which names nobody.
    await travel_to(env, london(2027, 3, 11, 9))
    await settle(handle)
    reminder = store.get_letter(ref, "reminder:remedy_action:1:0")
    assert reminder is not None and reminder.recipient == KIM.email
    assert "reminder:remedy_action:2:0" not in letter_keys(store, ref)

    # Past the due day: breached, to Kim and the team; the case is overdue.
    await travel_to(env, london(2027, 3, 13, 9))
    s = await settle(handle)
    assert item(s, "remedy_action", 1).breached_at is not None and s.overdue
    sent = letter_keys(store, ref)
    assert {"breach:remedy_action:1:owner", "breach:remedy_action:1:team"} <= set(sent)
    assert store.get_letter(ref, "breach:remedy_action:1:owner").recipient == KIM.email

    await travel_to(env, london(2027, 3, 16, 9))
    await settle(handle)
    assert store.get_letter(ref, "reminder:remedy_action:2:0").recipient == JO.email

    # Done one at a time, each with a note; outstanding until the last.
    s = await step(env.client, ref, "complete_action", by=JO.id, action=1, note="New boiler fitted")
    assert not s.actions[0].open and s.actions[0].done_on == date(2027, 3, 16)
    assert item(s, "remedy_action", 1).met_at is not None
    assert s.actions_outstanding and "complete_action" in s.allowed_steps
    assert not any(k.startswith("actions_completed") for k in letter_keys(store, ref))

    s = await step(
        env.client,
        ref,
        "complete_action",
        by=JO.id,
        action=2,
        note="Refunded £30",
        done_on="2027-03-15",
    )
    assert not s.actions_outstanding and "complete_action" not in s.allowed_steps
    body = letter_text(store, ref, "actions_completed:2")
    assert "Replace the boiler" in body and "Refund the missed appointment charge" in body
    assert "15 March 2027" in body and "16 March 2027" in body
    assert store.get_letter(ref, "actions_completed:2").recipient == "ann@example.org"
    record = store.get_case(ref)
    assert record is not None and record.actions_outstanding is False


async def test_completing_an_action_is_refused_without_a_real_open_action_or_in_the_future(
    env, worker, settings
):
    case, _handle, _ = await upheld_with_actions(env, settings)
    ref = case.reference
    why = await rejected(env.client, ref, "complete_action", by=JO.id, action=3, note="x")
    assert "no action 3" in why and "Open actions: 1, 2" in why
    why = await rejected(
        env.client, ref, "complete_action", by=JO.id, action=1, note="x", done_on="2027-03-09"
    )
    assert "in the future" in why
    await step(env.client, ref, "complete_action", by=JO.id, action=1, note="Fitted")
    why = await rejected(env.client, ref, "complete_action", by=JO.id, action=1, note="again")
    assert "already done" in why


async def test_an_action_due_in_the_past_is_refused_at_the_response(env, worker, settings):
    case, _ = await investigating(env, settings)
    why = await rejected(
        env.client,
        case.reference,
        "respond",
        by=JO.id,
        decisions=decisions(case.points),
        summary="s",
        remedies={"actions": [{"action": "Fix it", "owner": "Repairs", "due": "2027-02-26"}]},
    )
    assert "Action 1 ('Fix it')" in why and "has passed" in why


async def test_a_closed_case_stays_open_until_its_actions_are_done(env, worker, settings, store):
    """A final response with actions closes the complaint, but the case runs on: actions
    outstanding until the last is done, and kept for the Ombudsman's referral window after."""
    case, handle = await responded(env, settings)
    ref = case.reference
    await step(env.client, ref, "escalate", by=ALI.id, reviewer=SAM)
    await step(env.client, ref, "record_contact", by=SAM.id, notes="Discussed stage 2")
    await step(env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
    s = await step(
        env.client,
        ref,
        "respond",
        by=SAM.id,
        decisions=decisions(case.points),
        summary="The review upholds it.",
        remedies={
            "actions": [{"action": "Fix the gutter", "owner": "Repairs", "due": "2027-04-30"}]
        },
    )
    assert (s.stage, s.closure_reason) == (Stage.closed, ClosureReason.final_response)
    assert s.actions_outstanding and s.allowed_steps == sorted(
        ["complete_action", "refer_to_ombudsman"]
    )
    assert item(s, "remedy_action", 1).open  # closing stopped the stage's clocks, not this one
    assert clock(s, "s2_response").met_at is not None
    assert s.kept_until == s.closed_at + timedelta(
        days=settings.policy.ombudsman.referral_window_days
    )

    s = await step(env.client, ref, "complete_action", by=JO.id, action=1, note="Gutter fixed")
    assert not s.actions_outstanding and "actions_completed:1" in letter_keys(store, ref)
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.RUNNING

    # Kept for the Ombudsman's window, then finished.
    await travel_to(env, s.kept_until - timedelta(minutes=1))
    assert await execution_status(env.client, handle) is WorkflowExecutionStatus.RUNNING
    await travel_to(env, s.kept_until + timedelta(minutes=1))
    result = await finished(env.client, handle)
    assert result.kept_until is None and result.allowed_steps == []
    assert any(t.step == "referral_window_ended" for t in result.timeline)


async def test_compensation_offered_paid_and_a_stage2_offer_replaces_or_adds(
    env, worker, settings, store
):
    case, _handle = await investigating(env, settings)
    ref = case.reference
    s = await step(
        env.client,
        ref,
        "respond",
        by=JO.id,
        decisions=decisions(case.points),
        summary="Upheld.",
        remedies={"compensation": "100.00"},
    )
    assert [(o.stage, o.amount) for o in s.compensation.offers] == [(1, Decimal("100.00"))]
    assert s.actions_outstanding and "record_compensation" in s.allowed_steps

    await step(env.client, ref, "escalate", by=ALI.id, reviewer=SAM)
    await step(env.client, ref, "record_contact", by=SAM.id, notes="Discussed stage 2")
    await step(env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
    final = {
        "by": SAM.id,
        "decisions": decisions(case.points),
        "summary": "The review upholds it and offers more.",
    }
    why = await rejected(env.client, ref, "respond", **final, remedies={"compensation": "150.00"})
    assert "Stage 1 offered £100.00" in why and "replaces it or adds to it" in why
    s = await step(
        env.client,
        ref,
        "respond",
        **final,
        remedies={"compensation": "150.00", "compensation_basis": "adds"},
    )
    assert s.compensation.offered == Decimal("250.00")
    letter = letter_text(store, ref, "s2_response")
    assert "in addition to the £100.00" in letter and "£250.00</strong> in all" in letter

    why = await rejected(env.client, ref, "record_compensation", by=JO.id, amount="300.00")
    assert "more than the £250.00 still owed" in why
    s = await step(env.client, ref, "record_compensation", by=JO.id, amount="250.00")
    assert s.compensation.settled and not s.actions_outstanding
    assert "record_compensation" not in s.allowed_steps


async def test_a_stage2_offer_that_replaces_stage1s(env, worker, settings, store):
    case, _handle = await investigating(env, settings)
    ref = case.reference
    await step(
        env.client,
        ref,
        "respond",
        by=JO.id,
        decisions=decisions(case.points),
        summary="Upheld.",
        remedies={"compensation": "100.00"},
    )
    await step(env.client, ref, "escalate", by=ALI.id, reviewer=SAM)
    await step(env.client, ref, "record_contact", by=SAM.id, notes="Discussed stage 2")
    await step(env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
    s = await step(
        env.client,
        ref,
        "respond",
        by=SAM.id,
        decisions=decisions(case.points),
        summary="More.",
        remedies={"compensation": "150.00", "compensation_basis": "replaces"},
    )
    assert s.compensation.offered == Decimal("150.00")
    assert "This replaces the £100.00" in letter_text(store, ref, "s2_response")
    s = await step(env.client, ref, "record_compensation", by=JO.id, declined=True)
    assert s.compensation.settled and not s.actions_outstanding


async def test_ombudsman_requests_and_orders_run_on_clocks_until_done(env, worker, settings, store):
    case, handle = await responded(env, settings)
    ref = case.reference
    why = await rejected(
        env.client, ref, "record_evidence_request", by=SAM.id, description="x", due_on="2027-03-20"
    )
    assert "not possible" in why and "refer_to_ombudsman" in why

    s = await step(
        env.client,
        ref,
        "refer_to_ombudsman",
        by=SAM.id,
        ombudsman_reference="202712345",
        referred_on="2027-03-01",
    )
    assert s.ombudsman is not None and s.ombudsman.ombudsman_reference == "202712345"
    s = await step(
        env.client,
        ref,
        "record_evidence_request",
        by=SAM.id,
        description="The repair records and call logs",
        due_on="2027-03-15",
    )
    assert item(s, "ombudsman_evidence", 1).due_day == date(2027, 3, 15)

    # reminded a working day before, breached after, like any other clock
    await travel_to(env, london(2027, 3, 12, 9))
    await settle(handle)
    assert "reminder:ombudsman_evidence:1:0" in letter_keys(store, ref)
    await travel_to(env, london(2027, 3, 16, 9))
    s = await settle(handle)
    assert item(s, "ombudsman_evidence", 1).breached_at is not None and s.overdue
    assert {"breach:ombudsman_evidence:1:owner", "breach:ombudsman_evidence:1:team"} <= set(
        letter_keys(store, ref)
    )
    s = await step(
        env.client, ref, "record_evidence_sent", by=JO.id, request=1, note="Sent by the portal"
    )
    assert item(s, "ombudsman_evidence", 1).met_at is not None and not s.overdue

    why = await rejected(
        env.client,
        ref,
        "record_determination",
        by=SAM.id,
        determination="maladministration",
        findings="f",
        determined_on="2027-02-26",
    )
    assert "before the referral" in why
    await step(
        env.client,
        ref,
        "record_determination",
        by=SAM.id,
        determination="maladministration",
        findings="The landlord delayed the repair.",
        determined_on="2027-03-16",
    )
    s = await step(
        env.client,
        ref,
        "record_ombudsman_order",
        by=SAM.id,
        kind="order",
        description="Pay £200 compensation",
        due_on="2027-04-13",
    )
    assert s.ombudsman.determination == "maladministration"
    assert item(s, "ombudsman_order", 1).due_day == date(2027, 4, 13)
    assert "record_determination" not in s.allowed_steps

    await travel_to(env, london(2027, 4, 14, 9))
    s = await settle(handle)
    assert item(s, "ombudsman_order", 1).breached_at is not None
    s = await step(
        env.client, ref, "record_order_complied", by=JO.id, order=1, evidence="Paid on 14 April"
    )
    assert not s.ombudsman.orders[0].open and not s.overdue
    assert s.ombudsman.finished
    record = store.get_case(ref)
    assert record is not None
