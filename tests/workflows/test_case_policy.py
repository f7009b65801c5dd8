"""A case runs under the policy it was lodged under, for life: the clocks come from that policy's
numbers and calendar, the status query names it, and editing the policy file reaches new cases
only (a running case's due dates never move)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from config import REPO_ROOT, Settings, load_policy_file
from domain.complaint import COMPLAINT_RECORD_VERSION, ComplaintRecord, workflow_id
from domain.enquiry import EnquiryRecord
from tests.support import (
    JO,
    clock,
    complaint,
    enquiry,
    letter_text,
    london,
    settle,
    start,
    start_enquiry,
    status,
    step,
    travel_to,
)
from workflows.case import NOT_RECORDED

WEST_KENT = REPO_ROOT / "policy" / "west-kent.toml"
CODE = REPO_ROOT / "policy" / "ombudsman-code.toml"
MONDAY = london(2027, 3, 1, 10)


def policy_from(path: Path):
    load_policy_file.cache_clear()  # as a restarted worker or admin app would read it
    return Settings(policy_file=path).policy


async def test_a_complaint_lodged_under_the_ombudsman_code_gets_its_clocks(env, worker, settings):
    await travel_to(env, MONDAY)
    code = policy_from(CODE)
    case = complaint(MONDAY, policy=code)
    handle = await start(env.client, case, settings.task_queue)
    status = await settle(handle)
    # the Code sets no contact promise of its own: held to the acknowledgement's 5 working days
    assert clock(status, "s1_contact").due_day == date(2027, 3, 8)
    ack = clock(status, "s1_acknowledgement")
    assert ack.due_day == date(2027, 3, 8)
    assert ack.due == london(2027, 3, 8, 17, 0)  # the Code file's office hours close at 17:00
    assert status.policy.name == "Housing Ombudsman Complaint Handling Code minimums"
    assert status.policy.hash == code.content_hash[:12]


async def test_an_enquiry_lodged_under_the_ombudsman_code_gets_its_reply_clock(
    env, worker, settings
):
    await travel_to(env, MONDAY)
    case = enquiry(MONDAY, channel="online_form", policy=policy_from(CODE))
    status = await settle(await start_enquiry(env.client, case, settings.task_queue))
    assert clock(status, "enquiry_reply").due_day == date(2027, 3, 3)  # 2 working days


async def test_editing_the_policy_file_never_moves_a_running_case(env, worker, settings, tmp_path):
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(WEST_KENT.read_text())
    await travel_to(env, MONDAY)
    first = complaint(MONDAY, policy=policy_from(policy_file))
    handle = await start(env.client, first, settings.task_queue)
    before = await settle(handle)

    # The landlord's annual review: quicker acknowledgements and responses, a new version.
    edited = (
        WEST_KENT.read_text()
        .replace('version = "2027-01"', 'version = "2027-03"')
        .replace("stage1_acknowledgement = 5", "stage1_acknowledgement = 2")
        .replace("stage1_response = 10", "stage1_response = 4")
    )
    policy_file.write_text(edited)
    second = complaint(MONDAY, policy=policy_from(policy_file))
    second_status = await settle(await start(env.client, second, settings.task_queue))
    assert second_status.policy.version == "2027-03"
    assert clock(second_status, "s1_acknowledgement").due_day == date(2027, 3, 3)

    # The first case keeps its clocks, and a step taken now plans by its own numbers.
    ref = first.reference
    await step(env.client, ref, "accept", by=JO.id)
    after = await step(
        env.client, ref, "acknowledge", by=JO.id, points=first.points, outcome_sought="x"
    )
    assert after.policy == before.policy and after.policy.version == "2027-01"
    assert clock(after, "s1_acknowledgement").due == clock(before, "s1_acknowledgement").due
    assert clock(after, "s1_response").due_day == date(2027, 3, 15)  # 10 working days, not 4
    extended = await step(
        env.client,
        ref,
        "extend",
        by=JO.id,
        reasons="Survey",
        discussed_with_resident=True,
        working_days=10,
    )
    assert clock(extended, "s1_response").extended_by_working_days == 10


async def test_the_record_is_its_own_versioned_projection(env, worker, settings, store):
    """What the records database keeps is the ComplaintRecord / EnquiryRecord shape (versioned),
    with the policy stamp, not the status query dumped as it is: the timeline lives as events."""
    await travel_to(env, MONDAY)
    case = complaint(MONDAY)
    await start(env.client, case, settings.task_queue)
    data = store.get_case(case.reference).data
    record = ComplaintRecord.model_validate(data)
    assert record.record_version == COMPLAINT_RECORD_VERSION == 5
    # what is worked out again when read (the next deadline) or true only for the moment (the
    # effects queued) is not kept
    assert "timeline" not in data
    assert set(data) == set(ComplaintRecord.model_fields) - NOT_RECORDED
    live = await status(env.client.get_workflow_handle(workflow_id(case.reference)))
    assert record.next_deadline == live.next_deadline and record.next_deadline is not None
    assert record.policy == Settings().policy.stamp()
    assert [e.step for e in store.events(case.reference)] == ["lodged"]

    question = enquiry(MONDAY)
    await start_enquiry(env.client, question, settings.task_queue)
    enquiry_data = store.get_case(question.reference).data
    assert EnquiryRecord.model_validate(enquiry_data).record_version == 2
    assert set(enquiry_data) == set(EnquiryRecord.model_fields) - NOT_RECORDED


async def test_letters_quote_the_promises_of_the_cases_own_policy(env, worker, settings, store):
    await travel_to(env, MONDAY)
    online = complaint(MONDAY, channel="online_form", policy=policy_from(CODE))
    await start(env.client, online, settings.task_queue)
    text = letter_text(store, online.reference, "complaint_received")
    assert "will contact you within 5 working days" in text  # the Code file's, not West Kent's 3
    west_kent = complaint(MONDAY, channel="online_form", policy=policy_from(WEST_KENT))
    await start(env.client, west_kent, settings.task_queue)
    assert "will contact you within 3 working days" in letter_text(
        store, west_kent.reference, "complaint_received"
    )


async def test_the_reminder_lead_is_the_cases_policy(env, worker, settings):
    await travel_to(env, MONDAY)
    two_days = policy_from(WEST_KENT).model_copy(
        update={
            "reminders": policy_from(WEST_KENT).reminders.model_copy(
                update={"lead_working_days": 2}
            )
        }
    )
    status = await settle(
        await start(env.client, complaint(MONDAY, policy=two_days), settings.task_queue)
    )
    ack = clock(status, "s1_acknowledgement")
    assert ack.due_day == date(2027, 3, 8)
    assert ack.remind_at == london(2027, 3, 4, 8, 45)  # two working days before, at opening
