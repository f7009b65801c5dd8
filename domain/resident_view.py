"""What a resident sees of their own case through their personal link (admin/routes/resident.py):
where it stands and what happens next, by when, in plain words; and whether they may ask for
stage 2 online now, and if so whether they must say why they are asking late.

Built from the case as last recorded (the records database), so the page works while Temporal is
down. It names no member of staff and shows nothing the resident's letters did not tell them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from domain.clocks import Clock, ClockKey
from domain.complaint import ClosureReason, ComplaintRecord, Stage, Status, Step
from domain.enquiry import EnquiryRecord, EnquiryState


class NextStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    text: str
    by: date | None = None


class Stage2Request(StrEnum):
    in_time = "in_time"  # within the escalation window
    late = "late"  # after it: only with the exceptional circumstances


class ResidentView(BaseModel):
    model_config = ConfigDict(frozen=True)

    heading: str  # where the case stands, one line
    next_steps: list[NextStep]
    stage2: Stage2Request | None = None  # may ask for stage 2 online now, and how
    stage2_by: date | None = None  # the last day of the window, or of the late grace period
    promised: list[NextStep] = []  # what the landlord promised to put right, with due days


def _open(clocks: list[Clock], key: ClockKey) -> Clock | None:
    return next((c for c in clocks if c.key is key and c.open), None)


def _clock_step(clocks: list[Clock], key: ClockKey, text: str) -> list[NextStep]:
    clock = _open(clocks, key)
    return [NextStep(text=text, by=clock.due_day)] if clock else []


STAGE_WORDS = {Stage.stage1: ("stage 1", "response"), Stage.stage2: ("stage 2", "final response")}


def stage2_request(record: ComplaintRecord, now: datetime) -> Stage2Request | None:
    """Whether the resident may ask for stage 2 online now: within the window, or after it while
    a late request is still taken (the case allows `escalate`)."""
    if Step.escalate not in record.allowed_steps:
        return None
    window = next((c for c in record.clocks if c.key is ClockKey.escalation_window), None)
    if record.stage is Stage.closed or window is None or now > window.due:
        return Stage2Request.late
    return Stage2Request.in_time


def complaint_view(record: ComplaintRecord, now: datetime) -> ResidentView:
    clocks = record.clocks
    promised = [
        NextStep(text=a.action, by=a.due)
        for a in record.actions
        if a.open  # a done action is in the letter that told them
    ]
    stage2 = stage2_request(record, now)
    window = next((c for c in clocks if c.key is ClockKey.escalation_window), None)
    stage2_by = window.due_day if stage2 is Stage2Request.in_time and window else None
    if record.stage is Stage.closed:
        heading, steps = _closed(record.closure_reason)
        return ResidentView(
            heading=heading, next_steps=steps, stage2=stage2, stage2_by=None, promised=promised
        )
    if record.stage is Stage.triage or record.status is Status.awaiting_triage:
        heading = "We have received your complaint and are checking it"
        steps = _clock_step(clocks, ClockKey.s1_contact, "We will contact you about it")
        steps += _clock_step(
            clocks, ClockKey.s1_acknowledgement, "We will write to tell you what happens next"
        )
        return ResidentView(heading=heading, next_steps=steps, promised=promised)
    if record.status is Status.escalation_window:
        heading = "We have sent our stage 1 response"
        steps = []
        if window and window.open:
            steps.append(
                NextStep(
                    text=(
                        "If you are not satisfied with our response, you can ask us to look at "
                        "your complaint again (stage 2)"
                    ),
                    by=window.due_day,
                )
            )
        return ResidentView(
            heading=heading, next_steps=steps, stage2=stage2, stage2_by=stage2_by, promised=promised
        )
    n, response = STAGE_WORDS.get(record.stage, ("stage 1", "response"))
    contact, ack, answer = (
        (ClockKey.s2_contact, ClockKey.s2_acknowledgement, ClockKey.s2_response)
        if record.stage is Stage.stage2
        else (ClockKey.s1_contact, ClockKey.s1_acknowledgement, ClockKey.s1_response)
    )
    heading = f"We are looking into your complaint at {n}"
    steps = _clock_step(clocks, contact, "We will contact you to talk about your complaint")
    steps += _clock_step(clocks, ack, "We will write to confirm what we are looking into")
    answer_clock = _open(clocks, answer)
    if answer_clock:
        text = f"We will send you our {n} {response}"
        if answer_clock.extensions:
            text += " (we wrote to you to say we need more time)"
        steps.append(NextStep(text=text, by=answer_clock.due_day))
    return ResidentView(heading=heading, next_steps=steps, promised=promised)


def _closed(reason: ClosureReason | None) -> tuple[str, list[NextStep]]:
    ombudsman = NextStep(
        text=(
            "If you are not satisfied with how we have dealt with your complaint, you can ask "
            "the Housing Ombudsman to look at it"
        )
    )
    if reason is ClosureReason.final_response:
        return "We have sent our final response, and your complaint is closed", [ombudsman]
    if reason is ClosureReason.escalation_window_lapsed:
        return (
            "Your complaint is closed: we did not hear from you that you wanted stage 2",
            [ombudsman],
        )
    if reason is ClosureReason.withdrawn:
        return "Your complaint is closed: you told us you wanted to withdraw it", []
    if reason is ClosureReason.service_request:
        return "We are dealing with this as a request for a service, as our letter explained", []
    if reason is ClosureReason.declined:
        return "We could not take this on as a complaint, as our letter explained", [ombudsman]
    return "Your complaint is closed", []


def enquiry_view(record: EnquiryRecord, now: datetime) -> ResidentView:
    clocks = record.clocks
    steps = _clock_step(clocks, ClockKey.enquiry_reply, "We will reply to you")
    steps += _clock_step(clocks, ClockKey.team_reply, "The team dealing with it will update you")
    steps += _clock_step(
        clocks, ClockKey.service_request_target, "The work you asked for is due to be done"
    )
    heading = {
        EnquiryState.open: "We have your enquiry",
        EnquiryState.awaiting_resident: "We have replied and are waiting to hear from you",
        EnquiryState.with_team: "Your enquiry is with the team that can deal with it",
        EnquiryState.service_request: "We are dealing with the service you asked for",
        EnquiryState.closed: "We have dealt with your enquiry",
    }[record.state]
    return ResidentView(heading=heading, next_steps=steps)
