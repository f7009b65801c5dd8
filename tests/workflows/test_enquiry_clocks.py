"""Every channel's reply clock (customer service standards) on the time-skipping server, through
real timers, the real activities, the records database and the outbox."""

from __future__ import annotations

from datetime import date

import pytest

from domain.enquiry import EnquiryOutcome, EnquiryState
from tests.support import (
    JO,
    LONDON,
    clock,
    enquiry,
    enquiry_step,
    letter_keys,
    letter_text,
    london,
    settle,
    start_enquiry,
    status,
    travel_to,
)

# Received Wednesday 3 March 2027, mid-morning: next working day is Thursday 4 March; five
# working days on is Wednesday 10 March.
WEDNESDAY = london(2027, 3, 3, 10, 0)
CHANNELS = {
    "online_form": date(2027, 3, 4),
    "help_email": date(2027, 3, 4),
    "social_media": date(2027, 3, 4),
    "phone": date(2027, 3, 4),
    "in_person": date(2027, 3, 4),
    "team_email": date(2027, 3, 10),
    "letter": date(2027, 3, 10),
    "callback": date(2027, 3, 10),
}


@pytest.mark.parametrize("channel", sorted(CHANNELS))
async def test_each_channel_has_its_reply_clock(env, worker, settings, store, channel):
    await travel_to(env, WEDNESDAY)
    extra = {"callback_from": JO.model_dump()} if channel == "callback" else {}
    case = enquiry(WEDNESDAY, channel=channel, **extra)
    handle = await start_enquiry(env.client, case, settings.task_queue)

    s = await status(handle)
    reply = clock(s, "enquiry_reply")
    assert s.state is EnquiryState.open
    assert s.received_on == date(2027, 3, 3)
    assert reply.due_day == CHANNELS[channel]
    assert reply.due.astimezone(LONDON).hour == 17  # close of business, Thursday or Wednesday
    assert s.next_deadline and s.next_deadline.key == "enquiry_reply"
    # only an email to the help address gets the automatic confirmation
    confirmed = "enquiry_received" in letter_keys(store, case.reference)
    assert confirmed == (channel == "help_email")
    row = store.get_case(case.reference)
    assert row is not None and row.kind == "enquiry" and row.next_deadline is not None


async def test_friday_after_closing_counts_as_monday_and_is_due_tuesday(
    env, worker, settings, store
):
    friday = london(2027, 3, 5, 16, 50)  # after 16:45 on a Friday
    await travel_to(env, friday)
    case = enquiry(friday, channel="help_email")
    handle = await start_enquiry(env.client, case, settings.task_queue)

    s = await status(handle)
    assert s.received_on == date(2027, 3, 8)  # Monday
    assert clock(s, "enquiry_reply").due_day == date(2027, 3, 9)  # end of Tuesday
    confirmation = letter_text(store, case.reference, "enquiry_received")
    assert case.reference in confirmation
    assert "Tuesday 9 March 2027" in confirmation

    # the owner hears on Tuesday morning, not before; the breach comes at close on Tuesday
    await travel_to(env, london(2027, 3, 9, 8, 40))
    s = await settle(handle)
    assert not [k for k in letter_keys(store, case.reference) if k.startswith("reminder:")]
    await travel_to(env, london(2027, 3, 9, 9, 0))
    s = await settle(handle)
    assert "reminder:enquiry_reply:0" in letter_keys(store, case.reference)
    assert not s.overdue
    await travel_to(env, london(2027, 3, 9, 17, 20))
    s = await settle(handle)
    assert s.overdue
    sent = letter_keys(store, case.reference)
    assert "breach:enquiry_reply:team" in sent
    assert "Reply to the enquiry" in letter_text(store, case.reference, "breach:enquiry_reply:team")


async def test_bank_holiday_weekend(env, worker, settings, store):
    # Easter 2027: Good Friday 26 March, Easter Monday 29 March. An email on Maundy Thursday
    # evening counts as received on Tuesday 30 March and is due by the end of Wednesday 31.
    thursday = london(2027, 3, 25, 18, 30)
    await travel_to(env, thursday)
    case = enquiry(thursday, channel="help_email")
    handle = await start_enquiry(env.client, case, settings.task_queue)

    s = await status(handle)
    assert s.received_on == date(2027, 3, 30)
    assert clock(s, "enquiry_reply").due_day == date(2027, 3, 31)
    assert "Wednesday 31 March 2027" in letter_text(store, case.reference, "enquiry_received")

    # a letter received the same evening has 5 working days from Tuesday: Tuesday 6 April
    letter = enquiry(thursday, channel="letter")
    handle = await start_enquiry(env.client, letter, settings.task_queue)
    assert clock(await status(handle), "enquiry_reply").due_day == date(2027, 4, 6)


async def test_reply_in_time_meets_the_clock_and_closes(env, worker, settings, store):
    await travel_to(env, WEDNESDAY)
    case = enquiry(WEDNESDAY, channel="online_form")
    handle = await start_enquiry(env.client, case, settings.task_queue)
    await travel_to(env, london(2027, 3, 4, 11, 0))

    s = await enquiry_step(
        env.client, case.reference, "reply", by=JO.id, message="Your statement is attached."
    )
    assert s.state is EnquiryState.closed and s.outcome is EnquiryOutcome.answered
    assert clock(s, "enquiry_reply").met_at is not None
    assert "Your statement is attached." in letter_text(store, case.reference, "reply:1")

    await travel_to(env, london(2027, 3, 5, 12, 0))
    s = await settle(handle)
    assert not s.overdue
    assert not [k for k in letter_keys(store, case.reference) if k.startswith("breach:")]
    assert store.get_case(case.reference).closure_reason == "answered"


async def test_holding_reply_moves_the_clock_before_the_deadline(env, worker, settings, store):
    await travel_to(env, WEDNESDAY)
    case = enquiry(WEDNESDAY, channel="team_email", owner=JO.model_dump())
    handle = await start_enquiry(env.client, case, settings.task_queue)
    await travel_to(env, london(2027, 3, 9, 10, 0))  # the day before it is due

    s = await enquiry_step(
        env.client,
        case.reference,
        "holding_reply",
        by=JO.id,
        estimated_date=date(2027, 3, 19),
        reasons="We are waiting for the contractor's report.",
    )
    reply = clock(s, "enquiry_reply")
    assert reply.due_day == date(2027, 3, 19) and reply.original_due.date() == date(2027, 3, 10)
    letter = letter_text(store, case.reference, "holding_reply:1")
    assert "Friday 19 March 2027" in letter and "contractor" in letter

    # the original deadline passes without a breach; the estimate's does not
    await travel_to(env, london(2027, 3, 11, 12, 0))
    s = await settle(handle)
    assert not s.overdue
    await travel_to(env, london(2027, 3, 19, 17, 30))
    s = await settle(handle)
    assert s.overdue
    assert "breach:enquiry_reply:1:owner" in letter_keys(store, case.reference)

    # once the deadline has passed, a holding reply is refused: reply instead
    from workflows.cases import StepRejected, perform_enquiry_step

    with pytest.raises(StepRejected, match="must go before the deadline"):
        await perform_enquiry_step(
            env.client,
            case.reference,
            "holding_reply",
            {"by": JO.id, "estimated_date": "2027-03-30", "reasons": "Still waiting."},
        )


async def test_complex_enquiry_passed_to_a_team_with_updates(env, worker, settings, store):
    await travel_to(env, WEDNESDAY)
    case = enquiry(WEDNESDAY, channel="online_form", subject="Damp", message="Damp in bedroom.")
    handle = await start_enquiry(env.client, case, settings.task_queue)
    ref = case.reference

    s = await enquiry_step(
        env.client,
        ref,
        "pass_to_team",
        by=JO.id,
        team="Repairs team",
        next_steps="A surveyor will inspect the bedroom and agree the work with you.",
    )
    assert s.state is EnquiryState.with_team and s.team == "Repairs team"
    assert clock(s, "enquiry_reply").met_at is not None
    assert clock(s, "team_reply").due_day == date(2027, 3, 10)
    told = letter_text(store, ref, "passed_to_team:1")
    assert "Repairs team" in told and "surveyor" in told and "Wednesday 10 March 2027" in told

    s = await enquiry_step(env.client, ref, "record_update_preference", by=JO.id, method="letter")
    assert s.update_preference == "letter"

    # the team updates the resident in time; the next update is due 5 working days on
    await travel_to(env, london(2027, 3, 9, 14, 0))
    s = await enquiry_step(
        env.client, ref, "reply", by=JO.id, message="Surveyor booked for 15 March.", closes=False
    )
    team = clock(s, "team_reply")
    assert s.state is EnquiryState.with_team and team.due_day == date(2027, 3, 16)
    update = store.get_letter(ref, "update:2")
    assert update is not None and update.delivery == "post"  # as the resident asked
    assert "Surveyor booked" in (update.body_html or "")

    # no update by the end of 16 March: a breach for that round
    await travel_to(env, london(2027, 3, 16, 17, 30))
    s = await settle(handle)
    assert s.overdue
    assert "breach:team_reply:1:team" in letter_keys(store, ref)

    s = await enquiry_step(env.client, ref, "reply", by=JO.id, message="The damp is treated.")
    assert s.state is EnquiryState.closed and s.outcome is EnquiryOutcome.resolved_by_team
    assert not s.overdue
