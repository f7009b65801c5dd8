"""ComplaintWorkflow: one durable workflow per complaint, from intake to closure.

Staff steps arrive as Updates. Each validator rejects a step that is out of order or has bad data
before anything reaches history; the handler then changes the case and queues its side effects
(letters, records), which one background task performs in order, so a step returns at once even
while a letter is being retried. A second task keeps the clocks: reminders one working day
before each deadline, breaches when one passes, the escalation window lapsing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.clocks import EXTENSION_LIMIT, WORKING_DAYS, Clock, ClockKey, DeadlineRule
    from domain.complaint import (
        ALLOWED_STEPS,
        DECLINE_REASON_TEXT,
        LATE_ESCALATION_STEPS,
        Accept,
        Acknowledge,
        Assign,
        ClosureReason,
        ComplaintStatus,
        Decline,
        DeclineReason,
        Escalate,
        Extend,
        LodgeComplaint,
        RaiseNewIssues,
        RecordContact,
        RecordServiceRequest,
        Respond,
        Stage,
        Status,
        Step,
        Withdraw,
    )
    from domain.letters import LetterKind, PointDecision
    from domain.people import Channel
    from domain.references import new_reference
    from workflows.case import CaseWorkflow, day_text, rejected

# Contacts made without a person at the other end get the reference in writing at once.
RECEIPT_CHANNELS = frozenset({Channel.online_form, Channel.email})
STAGE_NUMBER = {Stage.stage1: 1, Stage.stage2: 2}
RESPONSE_CLOCK = {Stage.stage1: ClockKey.s1_response, Stage.stage2: ClockKey.s2_response}
CONTACT_CLOCK = {
    Stage.triage: ClockKey.s1_contact,
    Stage.stage1: ClockKey.s1_contact,
    Stage.stage2: ClockKey.s2_contact,
}
ACK_CLOCK = {Stage.stage1: ClockKey.s1_acknowledgement, Stage.stage2: ClockKey.s2_acknowledgement}
STAGE1_CLOCKS = (ClockKey.s1_contact, ClockKey.s1_acknowledgement, ClockKey.s1_response)
STAGE_CLOCKS = {
    Stage.triage: STAGE1_CLOCKS,
    Stage.stage1: STAGE1_CLOCKS,
    Stage.stage2: (ClockKey.s2_contact, ClockKey.s2_acknowledgement, ClockKey.s2_response),
}
# Steps whose doer counts as having taken part in stage 1 (so cannot review at stage 2).
PARTICIPATING_STEPS = frozenset(
    {
        Step.accept,
        Step.decline,
        Step.record_contact,
        Step.acknowledge,
        Step.extend,
        Step.respond,
    }
)


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")


@workflow.defn
class ComplaintWorkflow(CaseWorkflow):
    case_type = "complaint"
    metric_prefix = "complaint"

    @workflow.init
    def __init__(self, lodge: LodgeComplaint) -> None:
        self._init_case(lodge.reference, lodge.resident, lodge.letter_retry_pause_seconds)
        self._lodge = lodge
        self._stage = Stage.triage
        self._status = Status.awaiting_triage
        self._closure: ClosureReason | None = None
        self._owner = lodge.owner
        self._points = list(lodge.points)
        self._outcome_sought = lodge.outcome_sought
        self._received_on: date | None = None
        self._participants: list[str] = [lodge.owner.id] if lodge.owner else []
        self._decisions: dict[str, list[PointDecision]] = {}
        self._linked = [lodge.linked_reference] if lodge.linked_reference else []
        self._grace_ends: datetime | None = None

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, lodge: LodgeComplaint) -> ComplaintStatus:
        receipt = lodge.received_at
        planned = await self._plan(
            DeadlineRule(key=k, after=receipt, working_days=WORKING_DAYS[k])
            for k in (ClockKey.s1_contact, ClockKey.s1_acknowledgement)
        )
        self._received_on = planned[0].counted_from
        for p in planned:
            self._set_clock(p)
        received = f" (counts as received {self._received_on:%a %d %b %Y})"
        self._log(
            "lodged",
            lodge.lodged_by,
            f"Complaint received by {lodge.channel.value.replace('_', ' ')}"
            + (received if self._received_on else ""),
            {"linked_reference": lodge.linked_reference} if lodge.linked_reference else {},
        )
        if lodge.channel in RECEIPT_CHANNELS and workflow.patched("complaint-received-letter"):
            self._letter(
                LetterKind.complaint_received,
                "complaint_received",
                due=self._clocks[ClockKey.s1_acknowledgement].due,
            )
        self._ready = True
        workflow.metric_meter().create_counter("complaints_opened", "Complaint cases opened").add(
            1, {"channel": lodge.channel.value}
        )
        self._commit()
        await self._wait_until_done()
        return self._status_model()

    # ---------------------------------------------------------------- query

    @workflow.query
    def status(self) -> ComplaintStatus:
        return self._status_model()

    # -------------------------------------------------------------- updates

    @workflow.update
    async def accept(self, step: Accept) -> ComplaintStatus:
        async with self._step(Step.accept, step):
            self._stage, self._status = Stage.stage1, Status.awaiting_acknowledgement
            self._log(Step.accept, step.by, "Accepted as a stage 1 complaint")
        return self._status_model()

    @accept.validator
    def _validate_accept(self, step: Accept) -> None:
        self._check(Step.accept, step)

    @workflow.update
    async def decline(self, step: Decline) -> ComplaintStatus:
        async with self._step(Step.decline, step):
            text = DECLINE_REASON_TEXT[step.reason]
            self._log(Step.decline, step.by, f"Not accepted: {text}", {"reason": step.reason})
            self._letter(
                LetterKind.refusal,
                "refusal",
                decline_reason=text,
                explanation=step.explanation,
            )
            self._close(ClosureReason.declined)
        return self._status_model()

    @decline.validator
    def _validate_decline(self, step: Decline) -> None:
        self._check(Step.decline, step)
        if step.reason is DeclineReason.over_12_months:
            known = [d for d in (self._lodge.incident_date, self._lodge.became_aware_date) if d]
            if not known:
                raise ValueError(
                    "To decline a complaint as made over 12 months late, the case needs the "
                    "incident date or the date the resident became aware of it; neither is "
                    "recorded."
                )
            limit = _add_months(max(known), 12)
            if self._lodge.received_at.date() <= limit:
                raise ValueError(
                    f"The 12-month limit runs from when the resident became aware of the issue "
                    f"({max(known):%d %B %Y}), so it was complained about in time (the limit is "
                    f"{limit:%d %B %Y}). Accept the complaint, or choose another reason."
                )

    @workflow.update
    async def record_service_request(self, step: RecordServiceRequest) -> ComplaintStatus:
        async with self._step(Step.record_service_request, step):
            self._log(Step.record_service_request, step.by, f"Service request: {step.notes}")
            self._letter(LetterKind.service_request, "service_request", explanation=step.notes)
            self._close(ClosureReason.service_request)
        return self._status_model()

    @record_service_request.validator
    def _validate_service_request(self, step: RecordServiceRequest) -> None:
        self._check(Step.record_service_request, step)

    @workflow.update
    async def record_contact(self, step: RecordContact) -> ComplaintStatus:
        async with self._step(Step.record_contact, step):
            at = step.at or workflow.now()
            clock = self._clocks.get(CONTACT_CLOCK[self._stage])
            if clock and clock.open:
                clock.met_at = at
            self._log(
                Step.record_contact,
                step.by,
                f"Contacted the resident by {step.method}: {step.notes}",
            )
        return self._status_model()

    @record_contact.validator
    def _validate_record_contact(self, step: RecordContact) -> None:
        self._check(Step.record_contact, step)
        if step.at and step.at > workflow.now() + timedelta(minutes=5):
            raise ValueError("The contact time is in the future: give when the contact happened.")

    @workflow.update
    async def assign(self, step: Assign) -> ComplaintStatus:
        async with self._step(Step.assign, step):
            self._owner = step.owner
            if self._stage in (Stage.triage, Stage.stage1):
                self._participate(step.owner.id)
            self._log(Step.assign, step.by, f"Assigned to {step.owner.name} ({step.owner.id})")
        return self._status_model()

    @assign.validator
    def _validate_assign(self, step: Assign) -> None:
        self._check(Step.assign, step)
        if self._stage is Stage.stage2 and step.owner.id in self._participants:
            raise ValueError(
                f"{step.owner.name} took part in stage 1 of this complaint; stage 2 must be "
                "reviewed by someone who did not. Choose another reviewer."
            )

    @workflow.update
    async def acknowledge(self, step: Acknowledge) -> ComplaintStatus:
        async with self._step(Step.acknowledge, step):
            now = workflow.now()
            key = RESPONSE_CLOCK[self._stage]
            (planned,) = await self._plan(
                [DeadlineRule(key=key, after=now, working_days=WORKING_DAYS[key])]
            )
            self._clocks[ACK_CLOCK[self._stage]].met_at = now
            self._set_clock(planned)
            self._points, self._outcome_sought = list(step.points), step.outcome_sought
            self._status = Status.investigating
            n = STAGE_NUMBER[self._stage]
            self._log(
                Step.acknowledge,
                step.by,
                f"Stage {n} acknowledged; response due {day_text(planned.due_day)}",
                {"points": step.points, "outcome_sought": step.outcome_sought},
            )
            self._letter(
                LetterKind.stage1_acknowledgement if n == 1 else LetterKind.stage2_acknowledgement,
                f"s{n}_acknowledgement",
                due=planned.due,
                owner_name=self._owner.name if self._owner else None,
            )
        return self._status_model()

    @acknowledge.validator
    def _validate_acknowledge(self, step: Acknowledge) -> None:
        self._check(Step.acknowledge, step)

    @workflow.update
    async def extend(self, step: Extend) -> ComplaintStatus:
        async with self._step(Step.extend, step):
            clock = self._clocks[RESPONSE_CLOCK[self._stage]]
            if step.exceptional:
                rule = DeadlineRule(key=clock.key, on_date=step.agreed_date)
            else:
                rule = DeadlineRule(key=clock.key, after=clock.due, working_days=step.working_days)
            (planned,) = await self._plan([rule])
            if planned.due_day <= clock.due_day:
                raise rejected(
                    f"{step.agreed_date:%d %B %Y} is not a working day, and the last working day "
                    f"before it ({day_text(planned.due_day)}) is not after the current due date. "
                    "Agree a later date with the resident."
                )
            previous = clock.due
            self._move_clock(clock, planned)
            if step.exceptional:
                clock.exceptional_extension = True
            else:
                clock.extended_by_working_days += step.working_days or 0
            n = STAGE_NUMBER[self._stage]
            what = "Exceptional extension agreed" if step.exceptional else "Response extended"
            self._log(
                Step.extend,
                step.by,
                f"{what}: stage {n} response now due {day_text(planned.due_day)}",
                {"reasons": step.reasons, "previous_due": previous.isoformat()},
            )
            self._letter(
                LetterKind.exceptional_extension if step.exceptional else LetterKind.extension,
                f"s{n}_extension_{clock.extensions}",
                due=planned.due,
                previous_due=previous,
                reasons=step.reasons,
            )
        return self._status_model()

    @extend.validator
    def _validate_extend(self, step: Extend) -> None:
        self._check(Step.extend, step)
        clock = self._clocks[RESPONSE_CLOCK[self._stage]]
        if workflow.now() >= clock.due:
            raise ValueError(
                f"The response was due {day_text(clock.due_day)} and that has passed: an extension "
                "must be agreed before the deadline. Send the response now."
            )
        limit = EXTENSION_LIMIT[clock.key]
        if step.exceptional:
            if clock.extended_by_working_days == 0:
                raise ValueError(
                    f"An exceptional extension comes only after the standard extension of up to "
                    f"{limit} working days. Use the standard extension first."
                )
            if not step.resident_agreed or step.agreed_date is None:
                raise ValueError(
                    "An exceptional extension needs the resident's agreement and the date agreed "
                    "with them: record resident_agreed and agreed_date."
                )
            if step.agreed_date <= clock.due_day:
                raise ValueError(
                    "The agreed date must be after the current due date "
                    f"({day_text(clock.due_day)})."
                )
            return
        if not step.discussed_with_resident:
            raise ValueError(
                "The policy says we discuss an extension with the resident first: record "
                "discussed_with_resident once you have."
            )
        if step.working_days is None:
            raise ValueError("Say how many working days the extension adds (working_days).")
        left = limit - clock.extended_by_working_days
        if step.working_days > left:
            raise ValueError(
                f"A standard extension can add at most {limit} working days in all at stage "
                f"{STAGE_NUMBER[self._stage]}; {left} remain. Beyond that, use an exceptional "
                "extension agreed with the resident."
            )

    @workflow.update
    async def respond(self, step: Respond) -> ComplaintStatus:
        async with self._step(Step.respond, step):
            now = workflow.now()
            n = STAGE_NUMBER[self._stage]
            self._clocks[RESPONSE_CLOCK[self._stage]].met_at = now
            self._decisions[f"stage{n}"] = list(step.decisions)
            summary = ", ".join(f"{d.decision.value.replace('_', ' ')}" for d in step.decisions)
            details: dict[str, Any] = {
                "summary": step.summary,
                "decisions": [d.model_dump(mode="json") for d in step.decisions],
                "remedies": step.remedies.model_dump(mode="json"),
            }
            if self._stage is Stage.stage1:
                key = ClockKey.escalation_window
                (window,) = await self._plan(
                    [DeadlineRule(key=key, after=now, working_days=WORKING_DAYS[key])]
                )
                self._stop_clocks(STAGE1_CLOCKS)
                self._set_clock(window)
                self._status = Status.escalation_window
                self._log(Step.respond, step.by, f"Stage 1 response sent ({summary})", details)
                self._letter(
                    LetterKind.stage1_response,
                    "s1_response",
                    decisions=step.decisions,
                    remedies=step.remedies,
                    reasons=step.summary,
                    escalation_deadline=window.due,
                )
            else:
                self._log(Step.respond, step.by, f"Final response sent ({summary})", details)
                self._letter(
                    LetterKind.stage2_response,
                    "s2_response",
                    decisions=step.decisions,
                    remedies=step.remedies,
                    reasons=step.summary,
                )
                self._close(ClosureReason.final_response)
        return self._status_model()

    @respond.validator
    def _validate_respond(self, step: Respond) -> None:
        self._check(Step.respond, step)
        missing = [p for p in self._points if p not in {d.point for d in step.decisions}]
        if missing:
            raise ValueError(
                "Give a decision on every point of the complaint; missing: "
                + "; ".join(f"'{p}'" for p in missing)
            )

    @workflow.update
    async def escalate(self, step: Escalate) -> ComplaintStatus:
        async with self._step(Step.escalate, step):
            now = workflow.now()
            requested = step.requested_at or now
            planned = await self._plan(
                DeadlineRule(key=k, after=requested, working_days=WORKING_DAYS[k])
                for k in (ClockKey.s2_contact, ClockKey.s2_acknowledgement)
            )
            window = self._clocks[ClockKey.escalation_window]
            if window.open:
                window.met_at = requested
            late = requested > window.due
            self._stage, self._status = Stage.stage2, Status.awaiting_acknowledgement
            self._closure = self._closed_at = self._grace_ends = None
            self._owner = step.reviewer
            for p in planned:
                self._set_clock(p)
            summary = "Escalated to stage 2"
            if late:
                summary += f" late, exceptional circumstances: {step.exceptional_circumstances}"
            self._log(Step.escalate, step.by, summary, {"requested_at": requested.isoformat()})
            self._letter(
                LetterKind.escalation_received,
                "escalation_received",
                due=planned[1].due,
                owner_name=step.reviewer.name if step.reviewer else None,
            )
        return self._status_model()

    @escalate.validator
    def _validate_escalate(self, step: Escalate) -> None:
        self._check(Step.escalate, step)
        now = workflow.now()
        requested = step.requested_at or now
        if requested > now + timedelta(minutes=5):
            raise ValueError("requested_at is in the future: give when the resident asked.")
        window = self._clocks[ClockKey.escalation_window]
        if requested > window.due and not step.exceptional_circumstances:
            raise ValueError(
                f"The resident asked after the 20 working days to escalate ended "
                f"({day_text(window.due_day)}). A late request can go ahead only with the "
                "exceptional circumstances recorded (exceptional_circumstances)."
            )
        if step.reviewer and step.reviewer.id in self._participants:
            raise ValueError(
                f"{step.reviewer.name} took part in stage 1 of this complaint; stage 2 must be "
                "reviewed by someone who did not. Choose another reviewer."
            )

    @workflow.update
    async def raise_new_issues(self, step: RaiseNewIssues) -> ComplaintStatus:
        async with self._step(Step.raise_new_issues, step):
            reference = new_reference("CMP", workflow.random())
            lodge = LodgeComplaint(
                reference=reference,
                resident=self._lodge.resident,
                channel=self._lodge.channel,
                received_at=workflow.now(),
                description=(
                    f"New issues raised during the stage 2 review of {self._lodge.reference}."
                ),
                points=step.points,
                outcome_sought=step.outcome_sought,
                lodged_by=step.by,
                linked_reference=self._lodge.reference,
            )
            await self._open_linked_complaint(lodge)
            self._log(
                Step.raise_new_issues,
                step.by,
                f"New issues opened as stage 1 complaint {reference}",
                {"points": step.points, "linked_reference": reference},
            )
            self._letter(
                LetterKind.new_complaint_opened,
                f"new_complaint_{reference}",
                points=step.points,
                linked_reference=reference,
            )
        return self._status_model()

    @raise_new_issues.validator
    def _validate_raise_new_issues(self, step: RaiseNewIssues) -> None:
        self._check(Step.raise_new_issues, step)

    @workflow.update
    async def withdraw(self, step: Withdraw) -> ComplaintStatus:
        async with self._step(Step.withdraw, step):
            self._log(Step.withdraw, step.by, f"Withdrawn by the resident: {step.reason}")
            self._letter(LetterKind.withdrawal, "withdrawal", reasons=step.reason)
            self._close(ClosureReason.withdrawn)
        return self._status_model()

    @withdraw.validator
    def _validate_withdraw(self, step: Withdraw) -> None:
        self._check(Step.withdraw, step)

    # ------------------------------------------------------- step plumbing

    def _allowed(self) -> frozenset[Step]:
        if self._stage is Stage.closed:
            grace = self._grace_ends
            if self._closure is ClosureReason.escalation_window_lapsed and grace:
                return LATE_ESCALATION_STEPS if workflow.now() < grace else frozenset()
            return frozenset()
        return ALLOWED_STEPS[(self._stage, self._status)]

    def _check(self, name: StrEnum, step: Any) -> None:
        if name not in self._allowed():
            allowed = ", ".join(sorted(s.value for s in self._allowed())) or "none: it is closed"
            raise rejected(
                f"'{name.value}' is not possible while the case is "
                f"{self._describe_state()}. Steps possible now: {allowed}."
            )
        independent = self._stage is not Stage.stage2 or name not in PARTICIPATING_STEPS
        if not independent and step.by in self._participants:
            raise rejected(
                f"{step.by} took part in stage 1 of this complaint, so cannot carry out the "
                "independent stage 2 review. Ask the assigned reviewer to do this step."
            )

    def _describe_state(self) -> str:
        if self._stage is Stage.closed:
            return f"closed ({self._closure.value.replace('_', ' ') if self._closure else ''})"
        return f"at {self._stage.value} ({self._status.value.replace('_', ' ')})"

    def _started_step(self, name: StrEnum, step: Any) -> None:
        if self._stage in (Stage.triage, Stage.stage1) and name in PARTICIPATING_STEPS:
            self._participate(step.by)

    def _participate(self, staff_id: str) -> None:
        if staff_id not in self._participants:
            self._participants.append(staff_id)

    # ------------------------------------------------------------- clocks

    def _is_staff_clock(self, clock: Clock) -> bool:
        return clock.key is not ClockKey.escalation_window

    def _special_alarms(self) -> list[datetime]:
        times = [
            c.due for c in self._clocks.values() if c.open and c.key is ClockKey.escalation_window
        ]
        if self._grace_ends:
            times.append(self._grace_ends)
        return times

    def _finished(self) -> bool:
        return self._stage is Stage.closed and self._grace_ends is None

    def _ring_special(self, now: datetime) -> bool:
        touched = False
        if self._grace_ends and now >= self._grace_ends:
            self._grace_ends = None
            self._log("late_escalation_ended", None, "The time to ask for a late escalation ended")
            touched = True
        window = self._clocks.get(ClockKey.escalation_window)
        if window and window.open and now >= window.due:
            window.lapsed_at = now
            self._log("escalation_window_lapsed", None, "No request for stage 2 in time")
            self._letter(LetterKind.case_closed, "case_closed")
            self._close(ClosureReason.escalation_window_lapsed)
            grace = self._lodge.late_escalation_grace_days
            self._grace_ends = now + timedelta(days=grace) if grace else None
            touched = True
        return touched

    # ------------------------------------------------- closure and effects

    def _close(self, reason: ClosureReason) -> None:
        self._stop_clocks(tuple(self._clocks))
        self._stage, self._status = Stage.closed, Status.closed
        self._closure, self._closed_at = reason, workflow.now()
        self._log("closed", None, f"Case closed: {reason.value.replace('_', ' ')}")

    def _letter_context(self) -> dict[str, Any]:
        return {
            "stage": STAGE_NUMBER.get(self._stage),
            "points": self._points,
            "outcome_sought": self._outcome_sought,
        }

    def _stage_and_status(self) -> tuple[str, str]:
        return self._stage.value, self._status.value

    def _snapshot(self, status: Any) -> dict[str, Any]:
        resident = self._lodge.resident
        return {
            "resident_name": resident.name,
            "postcode": resident.address.postcode if resident.address else None,
            "channel": self._lodge.channel.value,
            "received_at": self._lodge.received_at,
            "closure_reason": self._closure.value if self._closure else None,
        }

    def _details(self, status: Any) -> list[str]:
        return [
            f"**{self._stage.value} — {self._status.value.replace('_', ' ')}**"
            + (f" ({self._closure.value.replace('_', ' ')})" if self._closure else "")
        ]

    def _status_model(self) -> ComplaintStatus:
        return ComplaintStatus(
            reference=self._lodge.reference,
            stage=self._stage,
            status=self._status,
            closure_reason=self._closure,
            owner=self._owner,
            resident=self._lodge.resident,
            channel=self._lodge.channel,
            received_at=self._lodge.received_at,
            received_on=self._received_on,
            description=self._lodge.description,
            points=self._points,
            outcome_sought=self._outcome_sought,
            stage1_participants=list(self._participants),
            decisions=dict(self._decisions),
            **self._case_fields(),
        )
