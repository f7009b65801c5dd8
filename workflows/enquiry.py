"""EnquiryWorkflow: one durable workflow per enquiry, on its channel's clock (customer service
standards), from receipt to the reply that closes it.

Same engine as complaints (workflows/case.py): steps are Updates with validators, side effects go
through the effects queue, the clocks remind the owner on the morning a reply is due and raise a
breach with the owner and the team when it passes. An enquiry can be passed to another team
(which then owes the resident a fix or an update every 5 working days), recorded as a service
request with its own target date, or turned into a complaint counted from the original receipt.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain import enquiry_rules as rules
    from domain.clocks import ClockKey, DeadlineRule, PlannedDeadline
    from domain.complaint import LodgeComplaint
    from domain.enquiry import (
        ALLOWED_ENQUIRY_STEPS,
        CHANNEL_LABELS,
        COMPLAINT_CHANNEL,
        CONFIRMED_CHANNELS,
        WRITTEN,
        AssignEnquiry,
        CloseEnquiry,
        Convert,
        EnquiryChannel,
        EnquiryOutcome,
        EnquiryRecord,
        EnquiryState,
        EnquiryStatus,
        EnquiryStep,
        HoldingReply,
        LodgeEnquiry,
        PassToTeam,
        RaiseComplaint,
        RecordEnquiryServiceRequest,
        RecordUpdatePreference,
        Reply,
        ReplyVia,
        UpdatePreference,
        default_via,
        private_channel_reply,
        reachable,
    )
    from domain.enquiry_rules import CURRENT_CLOCK, EnquiryCase
    from domain.letters import Delivery, LetterKind
    from domain.people import Resident
    from domain.references import new_reference
    from domain.rules import StepRefused
    from domain.step_result import StepResult
    from workflows.case import CaseWorkflow, day_text, rejected
    from workflows.web_ui import plain

RECORD_FIELDS = set(EnquiryRecord.model_fields)
CLOSING_OUTCOME = {
    EnquiryState.with_team: EnquiryOutcome.resolved_by_team,
    EnquiryState.service_request: EnquiryOutcome.service_request_done,
}


@workflow.defn
class EnquiryWorkflow(CaseWorkflow):
    case_type = "enquiry"
    metric_prefix = "enquiry"

    @workflow.init
    def __init__(self, lodge: LodgeEnquiry) -> None:
        self._init_case(
            lodge.reference,
            lodge.enquirer,
            lodge.letter_retry_pause_seconds,
            lodge.policy,
            lodge.bank_holidays,
        )
        self._lodge = lodge
        self._state = EnquiryState.open
        self._outcome: EnquiryOutcome | None = None
        self._owner = lodge.owner
        self._team: str | None = None
        self._received_on = None
        self._update_preference: UpdatePreference | None = None
        self._service_request: str | None = None
        self._suggested_public_reply: str | None = None
        self._written = 0  # letters to the resident so far, to key each one

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, lodge: LodgeEnquiry) -> StepResult:
        days = self._policy.enquiries.reply_working_days[lodge.channel.value]
        reminders = self._policy.reminders
        planned = await self._plan_one(
            DeadlineRule(
                key=ClockKey.enquiry_reply,
                after=lodge.received_at,
                working_days=days,
                # a one-day clock is flagged on its own morning, not the day before receipt
                remind_days_before=(
                    reminders.one_day_clock_lead_working_days
                    if days == 1
                    else reminders.lead_working_days
                ),
            )
        )
        self._received_on = planned.counted_from
        self._set_clock(planned)
        if lodge.linked_reference:
            self._linked.append(lodge.linked_reference)
        self._log(
            "lodged",
            lodge.lodged_by,
            f"Enquiry received: {CHANNEL_LABELS[lodge.channel].lower()}"
            + (f", counts as received {day_text(self._received_on)}" if self._received_on else "")
            + f"; reply due by the end of {day_text(planned.due_day)}",
            {"message_id": lodge.message_id} if lodge.message_id else {},
        )
        self._route(lodge, planned)
        self._ready = True
        workflow.metric_meter().create_counter("enquiries_opened", "Enquiries opened").add(
            1, {"channel": lodge.channel.value}
        )
        self._commit_lodged()
        await self._wait_until_done()
        return self._step_result()

    def _route(self, lodge: LodgeEnquiry, planned: PlannedDeadline) -> None:
        """What happens at once, by where the enquiry came from and who it was for."""
        writable = self._can_write(ReplyVia.email) or self._can_write(ReplyVia.letter)
        if lodge.addressed_to_executive:
            team = self._team = self._policy.teams.resolution.name
            to = lodge.addressed_to or "our chief executive or a director"
            self._log("routed", None, f"Addressed to {to}: routed to the {team}")
            if writable:
                self._letter(
                    LetterKind.enquiry_routed,
                    "routed",
                    team=team,
                    due=planned.due,
                    addressed_to=lodge.addressed_to,
                )
            return
        if lodge.channel is EnquiryChannel.callback and lodge.callback_from:
            person, back = lodge.callback_from, lodge.callback_from_returns_on
            if back and back > planned.due_day:
                self._owner = None
                self._log(
                    "callback_reassigned",
                    None,
                    f"{person.name} is away until {day_text(back)}, after the callback is due: "
                    "another member of the team must call back",
                )
            else:
                self._owner = person
                self._log("assigned", None, f"Callback by {person.name} ({person.id})")
        if lodge.public_post:
            self._suggested_public_reply = private_channel_reply(lodge.reference)
            self._log(
                "public_post",
                None,
                "Posted publicly: reply on the post asking the resident to send a private "
                "message (suggested wording on the enquiry page), then record the reply",
            )
        if lodge.channel in CONFIRMED_CHANNELS and writable:
            self._letter(LetterKind.enquiry_received, "enquiry_received", due=planned.due)

    # ---------------------------------------------------------------- query

    @workflow.query
    def status(self) -> EnquiryStatus:
        return self._status_model()

    # -------------------------------------------------------------- updates

    @workflow.update
    async def assign(self, step: AssignEnquiry) -> StepResult:
        async with self._step(EnquiryStep.assign, step):
            self._owner = step.owner
            self._log(
                EnquiryStep.assign, step.by, f"Assigned to {step.owner.name} ({step.owner.id})"
            )
        return self._step_result()

    @assign.validator
    def _validate_assign(self, step: AssignEnquiry) -> None:
        self._check(EnquiryStep.assign, step)

    @workflow.update
    async def reply(self, step: Reply) -> StepResult:
        async with self._step(EnquiryStep.reply, step):
            via = self._via(step.via)
            state = self._state
            details = {"message": step.message, "via": via}
            current = CURRENT_CLOCK.get(state)
            if step.closes:
                if current:
                    self._meet(current)
                self._log(EnquiryStep.reply, step.by, f"Replied {self._by(via)}", details)
                self._write(
                    via, LetterKind.enquiry_reply, "reply", message=step.message, signed_by=step.by
                )
                self._close(CLOSING_OUTCOME.get(state, EnquiryOutcome.answered))
            elif state is EnquiryState.with_team:
                planned = await self._plan_one(self._team_rule())
                self._meet(ClockKey.team_reply)
                self._restart_clock(planned)
                self._log(
                    EnquiryStep.reply,
                    step.by,
                    f"Progress update {self._by(via)}; next update due by "
                    f"{day_text(planned.due_day)}",
                    details,
                )
                self._write(
                    via,
                    LetterKind.enquiry_update,
                    "update",
                    message=step.message,
                    team=self._team,
                    due=planned.due,
                    signed_by=step.by,
                )
            elif state is EnquiryState.service_request:
                target = self._clocks[ClockKey.service_request_target]
                self._log(EnquiryStep.reply, step.by, f"Progress update {self._by(via)}", details)
                self._write(
                    via,
                    LetterKind.enquiry_update,
                    "update",
                    message=step.message,
                    due=target.due if target.open else None,
                    signed_by=step.by,
                )
            else:
                self._meet(ClockKey.enquiry_reply)
                self._state = EnquiryState.awaiting_resident
                self._log(
                    EnquiryStep.reply,
                    step.by,
                    f"Replied {self._by(via)}; waiting for the resident",
                    details,
                )
                self._write(
                    via, LetterKind.enquiry_reply, "reply", message=step.message, signed_by=step.by
                )
        return self._step_result()

    @reply.validator
    def _validate_reply(self, step: Reply) -> None:
        self._check(EnquiryStep.reply, step)

    @workflow.update
    async def holding_reply(self, step: HoldingReply) -> StepResult:
        async with self._step(EnquiryStep.holding_reply, step):
            via = self._via(step.via)
            clock = self._clocks[CURRENT_CLOCK[self._state]]
            planned = await self._plan_one(self._rule_for(clock.key, on=step.estimated_date))
            try:
                rules.check_planned_estimate(clock, step.estimated_date, planned.due_day)
            except StepRefused as err:
                raise rejected(err.reason) from None
            previous = clock.due_day
            self._move_clock(clock, planned)
            self._log(
                EnquiryStep.holding_reply,
                step.by,
                f"Holding reply {self._by(via)}: now expected by {day_text(planned.due_day)} "
                f"(was {day_text(previous)})",
                {"reasons": step.reasons, "via": via},
            )
            self._write(
                via,
                LetterKind.enquiry_holding_reply,
                "holding_reply",
                due=planned.due,
                reasons=step.reasons,
                signed_by=step.by,
            )
        return self._step_result()

    @holding_reply.validator
    def _validate_holding_reply(self, step: HoldingReply) -> None:
        self._check(EnquiryStep.holding_reply, step)

    @workflow.update
    async def pass_to_team(self, step: PassToTeam) -> StepResult:
        async with self._step(EnquiryStep.pass_to_team, step):
            via = self._via(step.via)
            planned = await self._plan_one(self._team_rule())
            self._meet(ClockKey.enquiry_reply)
            self._restart_clock(planned)
            self._team = step.team
            if step.owner:
                self._owner = step.owner
            self._state = EnquiryState.with_team
            self._log(
                EnquiryStep.pass_to_team,
                step.by,
                f"Passed to {step.team}"
                + (f" ({step.owner.name})" if step.owner else "")
                + f"; resident told {self._by(via)}; team to reply by {day_text(planned.due_day)}",
                {"next_steps": step.next_steps, "via": via},
            )
            self._write(
                via,
                LetterKind.enquiry_passed_to_team,
                "passed_to_team",
                team=step.team,
                next_steps=step.next_steps,
                due=planned.due,
                signed_by=step.by,
            )
        return self._step_result()

    @pass_to_team.validator
    def _validate_pass_to_team(self, step: PassToTeam) -> None:
        self._check(EnquiryStep.pass_to_team, step)

    @workflow.update
    async def record_update_preference(self, step: RecordUpdatePreference) -> StepResult:
        async with self._step(EnquiryStep.record_update_preference, step):
            self._update_preference = step.method
            self._log(
                EnquiryStep.record_update_preference,
                step.by,
                f"The resident wants updates by {step.method.value}",
            )
        return self._step_result()

    @record_update_preference.validator
    def _validate_update_preference(self, step: RecordUpdatePreference) -> None:
        self._check(EnquiryStep.record_update_preference, step)

    @workflow.update
    async def record_service_request(self, step: RecordEnquiryServiceRequest) -> StepResult:
        async with self._step(EnquiryStep.record_service_request, step):
            via = self._via(step.via)
            planned = await self._plan_one(
                self._rule_for(ClockKey.service_request_target, on=step.target_date)
            )
            try:
                rules.check_planned_target(step.target_date, planned.due, workflow.now())
            except StepRefused as err:
                raise rejected(err.reason) from None
            self._meet(ClockKey.enquiry_reply)
            self._set_clock(planned)
            self._service_request = step.description
            self._state = EnquiryState.service_request
            self._log(
                EnquiryStep.record_service_request,
                step.by,
                f"Recorded as a service request, target {day_text(planned.due_day)}; resident "
                f"told {self._by(via)}",
                {"description": step.description, "via": via},
            )
            self._write(
                via,
                LetterKind.enquiry_service_request,
                "service_request",
                message=step.description,
                due=planned.due,
                signed_by=step.by,
            )
        return self._step_result()

    @record_service_request.validator
    def _validate_service_request(self, step: RecordEnquiryServiceRequest) -> None:
        self._check(EnquiryStep.record_service_request, step)

    @workflow.update
    async def raise_complaint(self, step: RaiseComplaint) -> StepResult:
        async with self._step(EnquiryStep.raise_complaint, step):
            reference = await self._start_complaint(
                step,
                received_at=workflow.now(),
                description=(
                    f"Unhappy with how service request {self._lodge.reference} is being "
                    f"handled: {step.dissatisfaction}"
                ),
                outcome_sought=None,
            )
            self._log(
                EnquiryStep.raise_complaint,
                step.by,
                f"Complaint {reference} raised about how the request is handled; the service "
                "request carries on",
                {"linked_reference": reference},
            )
        return self._step_result()

    @raise_complaint.validator
    def _validate_raise_complaint(self, step: RaiseComplaint) -> None:
        self._check(EnquiryStep.raise_complaint, step)

    @workflow.update
    async def convert(self, step: Convert) -> StepResult:
        async with self._step(EnquiryStep.convert, step):
            lodge = self._lodge
            reference = await self._start_complaint(
                step,
                received_at=lodge.received_at,  # the complaint's clocks count from first contact
                description=f"{lodge.subject}\n\n{lodge.message}"[:20000],
                outcome_sought=step.outcome_sought,
            )
            self._log(
                EnquiryStep.convert,
                step.by,
                f"Converted to complaint {reference}, counted from the enquiry's receipt",
                {"linked_reference": reference},
            )
            self._close(EnquiryOutcome.converted_to_complaint)
        return self._step_result()

    @convert.validator
    def _validate_convert(self, step: Convert) -> None:
        self._check(EnquiryStep.convert, step)

    @workflow.update
    async def close(self, step: CloseEnquiry) -> StepResult:
        async with self._step(EnquiryStep.close, step):
            self._log(EnquiryStep.close, step.by, f"Closed without a reply: {step.reason}")
            self._close(EnquiryOutcome.closed_without_reply)
        return self._step_result()

    @close.validator
    def _validate_close(self, step: CloseEnquiry) -> None:
        self._check(EnquiryStep.close, step)

    # ------------------------------------------------------- step plumbing

    def _allowed(self) -> frozenset[Any]:
        return ALLOWED_ENQUIRY_STEPS[self._state]

    def _rule(self, name: StrEnum, step: Any) -> None:
        case = EnquiryCase(
            state=self._state,
            enquirer=self._lodge.enquirer,
            clocks=self._clocks,
            owner=self._owner,
        )
        rules.check(case, EnquiryStep(name), step, workflow.now(), self._policy)

    def _via(self, asked: ReplyVia | None) -> ReplyVia:
        return asked or default_via(self._lodge.enquirer, self._update_preference)

    def _can_write(self, via: ReplyVia) -> bool:
        return via in reachable(self._lodge.enquirer)

    def _by(self, via: ReplyVia) -> str:
        return {
            ReplyVia.email: "by email",
            ReplyVia.letter: "by letter",
            ReplyVia.phone: "by phone",
            ReplyVia.social_media: "on social media",
        }[via]

    def _write(self, via: ReplyVia, kind: LetterKind, key: str, **context: Any) -> None:
        """A written reply goes through the letters; a reply by phone or social media is one
        staff made themselves, and the timeline holds what they said."""
        if via not in WRITTEN:
            return
        self._written += 1
        delivery = Delivery.email if via is ReplyVia.email else Delivery.post
        self._letter(kind, f"{key}:{self._written}", delivery=delivery, **context)

    def _team_rule(self) -> DeadlineRule:
        return self._rule_for(ClockKey.team_reply, workflow.now())

    def _restart_clock(self, planned: PlannedDeadline) -> None:
        """The team owes a fix or an update every 5 working days: each round is a fresh clock,
        numbered so its reminder and breach letters are its own."""
        previous = self._clocks.get(planned.key)
        clock = self._set_clock(planned)
        if previous:
            clock.extensions = previous.extensions + 1

    def _complainant(self, contact: Resident | None) -> Resident:
        try:
            return rules.complainant(self._lodge.enquirer, contact)
        except StepRefused as err:
            raise rejected(err.reason) from None

    async def _start_complaint(
        self,
        step: Convert | RaiseComplaint,
        received_at: datetime,
        description: str,
        outcome_sought: str | None,
    ) -> str:
        reference = new_reference("CMP", workflow.random())
        lodge = LodgeComplaint(
            reference=reference,
            resident=self._complainant(step.contact),
            channel=COMPLAINT_CHANNEL[self._lodge.channel],
            received_at=received_at,
            description=description,
            points=step.points,
            outcome_sought=outcome_sought,
            owner=self._owner,
            lodged_by=step.by,
            linked_reference=self._lodge.reference,
            letter_retry_pause_seconds=self._lodge.letter_retry_pause_seconds,
            policy=self._lodge.policy,
            bank_holidays=self._holidays or None,
        )
        return await self._open_linked_complaint(lodge)

    # --------------------------------------------------------------- hooks

    def _finished(self) -> bool:
        return self._state is EnquiryState.closed

    def _close(self, outcome: EnquiryOutcome) -> None:
        self._stop_clocks(tuple(self._clocks))
        self._state, self._outcome = EnquiryState.closed, outcome
        self._closed_at = workflow.now()
        self._log("closed", None, f"Enquiry closed: {outcome.value.replace('_', ' ')}")

    def _stage_and_status(self) -> tuple[str, str]:
        return ("closed" if self._state is EnquiryState.closed else "enquiry"), self._state.value

    def _snapshot(self, status: Any) -> dict[str, Any]:
        person = self._lodge.enquirer
        return {
            "resident_name": person.name,
            "postcode": person.address.postcode if person.address else None,
            "channel": self._lodge.channel.value,
            "received_at": self._lodge.received_at,
            "closure_reason": self._outcome.value if self._outcome else None,
        }

    def _details(self, status: Any) -> list[str]:
        return [
            f"**enquiry — {self._state.value.replace('_', ' ')}**"
            + (f" ({self._outcome.value.replace('_', ' ')})" if self._outcome else "")
            + (f", with {plain(self._team)}" if self._team else "")
        ]

    def _record_fields(self) -> set[str]:
        return RECORD_FIELDS

    def _status_model(self, timeline: bool = True) -> StepResult:
        lodge = self._lodge
        return EnquiryStatus(
            reference=lodge.reference,
            state=self._state,
            outcome=self._outcome,
            owner=self._owner,
            team=self._team,
            enquirer=lodge.enquirer,
            channel=lodge.channel,
            received_at=lodge.received_at,
            received_on=self._received_on,
            subject=lodge.subject,
            message=lodge.message,
            addressed_to=lodge.addressed_to,
            addressed_to_executive=lodge.addressed_to_executive,
            public_post=lodge.public_post,
            message_id=lodge.message_id,
            reply_via=self._via(None),
            suggested_public_reply=self._suggested_public_reply,
            update_preference=self._update_preference,
            service_request=self._service_request,
            **self._case_fields(timeline),
        )
