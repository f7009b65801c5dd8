"""Two staff steps sent at the same moment: both pass their Update validators before either has
changed the case, so each handler must check the policy's rule again under the case's lock.
Exactly one of each pair is refused, and the case's limits hold afterwards."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any

import pytest
from temporalio.client import Client

from tests.support import (
    ALI,
    CATEGORY,
    JO,
    SAM,
    _jsonable,
    clock,
    enquiry,
    letter_keys,
    london,
    settle,
    start_enquiry,
    step,
    travel_to,
)
from tests.workflows.test_complaint_steps import (
    MONDAY,
    at_stage2,
    decisions,
    investigating,
    lodged,
)
from workflows.cases import StepRejected, perform_enquiry_step, perform_step


async def both(client: Client, reference: str, *steps: tuple[str, dict[str, Any]]) -> list[Any]:
    """Send the steps together; return each one's result or its StepRejected."""
    send = perform_enquiry_step if reference.startswith("ENQ-") else perform_step
    return await asyncio.gather(
        *(send(client, reference, name, _jsonable(payload)) for name, payload in steps),
        return_exceptions=True,
    )


def refused(results: list[Any]) -> list[StepRejected]:
    unexpected = [r for r in results if isinstance(r, BaseException | Exception)]
    rejections = [r for r in unexpected if isinstance(r, StepRejected)]
    assert rejections == unexpected, f"only refusals expected: {unexpected!r}"
    return rejections


async def test_two_stage_1_extensions_of_8_days_one_is_refused(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    extend = {"by": JO.id, "reasons": "Waiting for the contractor", "discussed_with_resident": True}
    results = await both(
        env.client,
        case.reference,
        ("extend", {**extend, "working_days": 8}),
        ("extend", {**extend, "working_days": 8}),
    )
    (no,) = refused(results)
    assert "at most 10 working days in all at stage 1; 2 remain" in str(no)
    after = await settle(handle)
    response = clock(after, "s1_response")
    assert response.extended_by_working_days == 8 and response.extensions == 1
    assert [k for k in letter_keys(store, case.reference) if "extension" in k] == ["s1_extension_1"]


async def test_two_stage_2_extensions_of_12_days_one_is_refused(env, worker, settings, store):
    case, handle = await at_stage2(env, settings)
    ref = case.reference
    await step(env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
    extend = {"by": SAM.id, "reasons": "Survey needed", "discussed_with_resident": True}
    results = await both(
        env.client,
        ref,
        ("extend", {**extend, "working_days": 12}),
        ("extend", {**extend, "working_days": 12}),
    )
    (no,) = refused(results)
    assert "at most 20 working days in all at stage 2; 8 remain" in str(no)
    response = clock(await settle(handle), "s2_response")
    assert response.extended_by_working_days == 12 and response.extensions == 1
    assert [k for k in letter_keys(store, ref) if "extension" in k] == ["s2_extension_1"]


async def test_two_responses_one_is_refused(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    respond = {"by": JO.id, "decisions": decisions(case.points), "summary": "We got it wrong."}
    results = await both(env.client, case.reference, ("respond", respond), ("respond", respond))
    (no,) = refused(results)
    assert "'respond' is not possible" in str(no)
    after = await settle(handle)
    assert after.status == "escalation_window"
    assert letter_keys(store, case.reference).count("s1_response") == 1
    assert [i.step for i in after.timeline].count("respond") == 1


@pytest.mark.parametrize("escalation_sent_first", [False, True])
async def test_an_escalation_naming_a_reviewer_against_that_reviewer_taking_the_case(
    env, worker, settings, store, escalation_sent_first
):
    """Sam takes the unowned case at stage 1 (which makes Sam part of stage 1) while the
    escalation names Sam as the independent reviewer. Whichever runs first, the other is refused
    under the lock: after a take the escalation names someone who took part in stage 1; after
    the escalation the case is Sam's, so there is nothing to take. Never both."""
    case, handle = await lodged(env, settings, MONDAY)
    ref = case.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="x")
    respond = {"by": JO.id, "decisions": decisions(case.points), "summary": "Sorry"}
    await step(env.client, ref, "respond", **respond)
    pair = [
        ("assign", {"by": SAM.id, "owner": SAM, "only_if_unowned": True}),
        ("escalate", {"by": ALI.id, "reviewer": SAM}),
    ]
    results = await both(env.client, ref, *(reversed(pair) if escalation_sent_first else pair))
    (no,) = refused(results)
    after = await settle(handle)
    assert after.owner.id == SAM.id
    if after.stage == "stage2":  # the escalation ran first
        assert "Sam Reviewer has already taken this case" in str(no)
        assert SAM.id not in after.stage1_participants
    else:  # the take ran first
        assert "Sam Reviewer took part in stage 1" in str(no)
        assert after.stage == "stage1" and SAM.id in after.stage1_participants


async def test_two_holding_replies_on_one_enquiry_one_is_refused(env, worker, settings, store):
    received = london(2027, 3, 3, 10)  # Wed: a letter's 5 working days end Wed 10 Mar
    await travel_to(env, received)
    case = enquiry(received, channel="letter")
    handle = await start_enquiry(env.client, case, settings.task_queue)
    holding = {"by": JO.id, "estimated_date": date(2027, 3, 17), "reasons": "Awaiting a survey"}
    results = await both(
        env.client, case.reference, ("holding_reply", holding), ("holding_reply", holding)
    )
    (no,) = refused(results)
    assert "must be after the current due date (Wed 17 Mar 2027)" in str(no)
    reply = clock(await settle(handle), "enquiry_reply")
    assert reply.due_day == date(2027, 3, 17) and reply.extensions == 1
    assert [k for k in letter_keys(store, case.reference) if k.startswith("holding")] == [
        "holding_reply:1"
    ]


async def test_two_people_taking_one_unowned_case_one_is_refused(env, worker, settings):
    case, handle = await lodged(env, settings, london(2027, 3, 1, 10))
    take = {"only_if_unowned": True}
    results = await both(
        env.client,
        case.reference,
        ("assign", {"by": JO.id, "owner": JO, **take}),
        ("assign", {"by": SAM.id, "owner": SAM, **take}),
    )
    (no,) = refused(results)
    assert "has already taken this case, so it is theirs now" in str(no)
    after = await settle(handle)
    taker = SAM if "Sam Reviewer has already" in str(no) else JO
    assert after.owner.id == taker.id
    assert [i.step for i in after.timeline].count("assign") == 1


async def test_two_payments_more_than_owed_one_is_refused(env, worker, settings, store):
    """The amount still owed is checked again under the lock: £40 twice of £50 offered."""
    case, handle = await investigating(env, settings)
    ref = case.reference
    await step(
        env.client, ref, "respond", by=JO.id, decisions=decisions(case.points), summary="Sorry",
        remedies={"compensation": "50.00"},
    )  # fmt: skip
    pay = {"by": JO.id, "amount": "40.00"}
    results = await both(
        env.client, ref, ("record_compensation", pay), ("record_compensation", pay)
    )
    (no,) = refused(results)
    assert "£40.00 is more than the £10.00 still owed" in str(no)
    after = await settle(handle)
    assert after.compensation.paid == 40 and after.compensation.outstanding == 10


async def test_the_same_action_done_twice_at_once_one_is_refused(env, worker, settings, store):
    case, handle = await investigating(env, settings)
    ref = case.reference
    action = {"action": "Fix the gutter", "owner": "Repairs", "due": "2027-04-30"}
    await step(
        env.client, ref, "respond", by=JO.id, decisions=decisions(case.points), summary="Sorry",
        remedies={"actions": [action]},
    )  # fmt: skip
    done = {"by": JO.id, "action": 1, "note": "Fixed"}
    results = await both(env.client, ref, ("complete_action", done), ("complete_action", done))
    (no,) = refused(results)
    assert "'complete_action' is not possible" in str(no), "none open once the first is done"
    await settle(handle)
    assert letter_keys(store, ref).count("actions_completed:1") == 1
