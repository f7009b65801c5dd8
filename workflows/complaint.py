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
    from domain import complaint_rules as rules
    from domain.clocks import Clock, ClockKey, clock_id
    from domain.complaint import (
        DECLINE_REASON_TEXT,
        TENURE_LABELS,
        Accept,
        Acknowledge,
        Assign,
        Classification,
        Classify,
        ClosureReason,
        ComplaintRecord,
        ComplaintStatus,
        CompleteAction,
        Decline,
        Escalate,
        Extend,
        LodgeComplaint,
        PointOutcome,
        RaiseNewIssues,
        RecordCompensation,
        RecordContact,
        RecordDetermination,
        RecordEvidenceRequest,
        RecordEvidenceSent,
        RecordOmbudsmanOrder,
        RecordOrderComplied,
        RecordServiceRequest,
        ReferToOmbudsman,
        Respond,
        Stage,
        StageResponse,
        Status,
        Step,
        Tenure,
        Withdraw,
        asks_satisfaction,
    )
    from domain.complaint_rules import (
        PARTICIPATING_STEPS,
        RESPONSE_CLOCK,
        STAGE_NUMBER,
        ComplaintState,
    )
    from domain.letters import CompletedAction, LetterKind, Recipient
    from domain.ombudsman import (
        DETERMINATION_LABELS,
        ORDER_KIND_LABELS,
        EvidenceRequest,
        OmbudsmanCase,
        OmbudsmanOrder,
    )
    from domain.people import Channel
    from domain.references import new_reference
    from domain.remedies import (
        Compensation,
        CompensationOffer,
        CompensationPayment,
        TrackedAction,
        actions_outstanding,
    )
    from domain.rules import StepRefused
    from domain.step_result import StepResult
    from workflows.case import CaseWorkflow, day_text, rejected

RECORD_FIELDS = set(ComplaintRecord.model_fields)
SURVEY_KEY = "satisfaction_survey"  # the survey letter's key: one a case
# Contacts made without a person at the other end get the reference in writing at once.
RECEIPT_CHANNELS = frozenset({Channel.online_form, Channel.email})
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


@workflow.defn
class ComplaintWorkflow(CaseWorkflow):
    case_type = "complaint"
    metric_prefix = "complaint"

    @workflow.init
    def __init__(self, lodge: LodgeComplaint) -> None:
        self._init_case(
            lodge.reference,
            lodge.resident,
            lodge.letter_retry_pause_seconds,
            lodge.policy,
            lodge.bank_holidays,
        )
        self._lodge = lodge
        self._stage = Stage.triage
        self._status = Status.awaiting_triage
        self._closure: ClosureReason | None = None
        self._owner = lodge.owner
        self._points = list(lodge.points)
        self._outcome_sought = lodge.outcome_sought
        self._received_on: date | None = None
        self._participants: list[str] = [lodge.owner.id] if lodge.owner else []
        self._decisions: dict[str, list[PointOutcome]] = {}
        self._linked = [lodge.linked_reference] if lodge.linked_reference else []
        self._grace_ends: datetime | None = None
        # What reports count the complaint under (`accept`, `classify`); older cases have none.
        self._category: str | None = None
        self._tenure: Tenure | None = lodge.tenure
        self._property_reference: str | None = lodge.property_reference
        # What the complaint led to: the actions its responses promised, compensation offered
        # and paid, the Ombudsman's involvement; and how long a closed case is kept for it.
        self._actions: list[TrackedAction] = []
        self._compensation = Compensation()
        self._ombudsman: OmbudsmanCase | None = None
        self._kept_until: datetime | None = None
        self._responses: dict[str, StageResponse] = {}

    # ------------------------------------------------------------------ run

    @workflow.run
    async def run(self, lodge: LodgeComplaint) -> StepResult:
        receipt = lodge.received_at
        planned = await self._plan(
            self._rule_for(k, receipt) for k in (ClockKey.s1_contact, ClockKey.s1_acknowledgement)
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
        if lodge.channel in RECEIPT_CHANNELS and self._patched("complaint-received-letter"):
            self._letter(
                LetterKind.complaint_received,
                "complaint_received",
                due=self._clocks[ClockKey.s1_acknowledgement].due,
            )
        self._ready = True
        workflow.metric_meter().create_counter("complaints_opened", "Complaint cases opened").add(
            1, {"channel": lodge.channel.value}
        )
        self._commit_lodged()
        await self._wait_until_done()
        return self._step_result()

    # ---------------------------------------------------------------- query

    @workflow.query
    def status(self) -> ComplaintStatus:
        return self._status_model()

    # -------------------------------------------------------------- updates

    @workflow.update
    async def accept(self, step: Accept) -> StepResult:
        async with self._step(Step.accept, step):
            self._stage, self._status = Stage.stage1, Status.awaiting_acknowledgement
            changes = self._classify(step)
            self._log(
                Step.accept,
                step.by,
                "Accepted as a stage 1 complaint" + (f" ({changes})" if changes else ""),
                self._classification(step),
            )
        return self._step_result()

    @accept.validator
    def _validate_accept(self, step: Accept) -> None:
        self._check(Step.accept, step)

    @workflow.update
    async def classify(self, step: Classify) -> StepResult:
        async with self._step(Step.classify, step):
            changes = self._classify(step)
            self._log(
                Step.classify,
                step.by,
                f"Classified: {changes}" if changes else "Classification confirmed, unchanged",
                self._classification(step),
            )
        return self._step_result()

    @classify.validator
    def _validate_classify(self, step: Classify) -> None:
        self._check(Step.classify, step)

    @workflow.update
    async def decline(self, step: Decline) -> StepResult:
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
        return self._step_result()

    @decline.validator
    def _validate_decline(self, step: Decline) -> None:
        self._check(Step.decline, step)

    @workflow.update
    async def record_service_request(self, step: RecordServiceRequest) -> StepResult:
        async with self._step(Step.record_service_request, step):
            self._log(Step.record_service_request, step.by, f"Service request: {step.notes}")
            self._letter(LetterKind.service_request, "service_request", explanation=step.notes)
            self._close(ClosureReason.service_request)
        return self._step_result()

    @record_service_request.validator
    def _validate_service_request(self, step: RecordServiceRequest) -> None:
        self._check(Step.record_service_request, step)

    @workflow.update
    async def record_contact(self, step: RecordContact) -> StepResult:
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
        return self._step_result()

    @record_contact.validator
    def _validate_record_contact(self, step: RecordContact) -> None:
        self._check(Step.record_contact, step)

    @workflow.update
    async def assign(self, step: Assign) -> StepResult:
        async with self._step(Step.assign, step):
            self._owner = step.owner
            if self._stage in (Stage.triage, Stage.stage1):
                self._participate(step.owner.id)
            self._log(Step.assign, step.by, f"Assigned to {step.owner.name} ({step.owner.id})")
        return self._step_result()

    @assign.validator
    def _validate_assign(self, step: Assign) -> None:
        self._check(Step.assign, step)

    @workflow.update
    async def acknowledge(self, step: Acknowledge) -> StepResult:
        async with self._step(Step.acknowledge, step):
            now = workflow.now()
            key = RESPONSE_CLOCK[self._stage]
            planned = await self._plan_one(self._rule_for(key, now))
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
        return self._step_result()

    @acknowledge.validator
    def _validate_acknowledge(self, step: Acknowledge) -> None:
        self._check(Step.acknowledge, step)

    @workflow.update
    async def extend(self, step: Extend) -> StepResult:
        async with self._step(Step.extend, step):
            clock = self._clocks[RESPONSE_CLOCK[self._stage]]
            if step.exceptional:
                rule = self._rule_for(clock.key, on=step.agreed_date)
            else:
                rule = self._rule_for(clock.key, clock.due, days=step.working_days)
            planned = await self._plan_one(rule)
            try:
                rules.check_planned_extension(clock, step.agreed_date, planned.due_day)
            except StepRefused as err:
                raise rejected(err.reason) from None
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
        return self._step_result()

    @extend.validator
    def _validate_extend(self, step: Extend) -> None:
        self._check(Step.extend, step)

    @workflow.update
    async def respond(self, step: Respond) -> StepResult:
        async with self._step(Step.respond, step):
            now = workflow.now()
            n = STAGE_NUMBER[self._stage]
            self._clocks[RESPONSE_CLOCK[self._stage]].met_at = now
            self._decisions[f"stage{n}"] = list(step.decisions)
            self._responses[f"stage{n}"] = StageResponse(
                summary=step.summary, apology=step.remedies.apology, by=step.by, at=now
            )
            summary = ", ".join(f"{d.decision.value.replace('_', ' ')}" for d in step.decisions)
            details: dict[str, Any] = {
                "summary": step.summary,
                "decisions": [d.model_dump(mode="json") for d in step.decisions],
                "remedies": step.remedies.model_dump(mode="json"),
            }
            tracked = self._patched("tracked-remedies")
            earlier = self._compensation.offered
            if tracked:
                self._offer_compensation(n, step, now)
            if self._stage is Stage.stage1:
                key = ClockKey.escalation_window
                window = await self._plan_one(self._rule_for(key, now))
                self._stop_clocks(STAGE1_CLOCKS)
                self._set_clock(window)
                self._status = Status.escalation_window
                self._log(Step.respond, step.by, f"Stage 1 response sent ({summary})", details)
                self._letter(
                    LetterKind.stage1_response,
                    "s1_response",
                    decisions=[d.for_letter() for d in step.decisions],
                    remedies=step.remedies,
                    reasons=step.summary,
                    escalation_deadline=window.due,
                    # signed by the investigator; the officer who sent it if none is named
                    owner_name=self._owner.name if self._owner else None,
                    signed_by=step.by,
                )
            else:
                self._log(Step.respond, step.by, f"Final response sent ({summary})", details)
                self._letter(
                    LetterKind.stage2_response,
                    "s2_response",
                    decisions=[d.for_letter() for d in step.decisions],
                    remedies=step.remedies,
                    reasons=step.summary,
                    earlier_compensation=earlier if step.remedies.compensation_basis else None,
                    # signed by the reviewer; the officer who sent it if none is named
                    owner_name=self._owner.name if self._owner else None,
                    signed_by=step.by,
                )
                self._close(ClosureReason.final_response)
            if tracked:
                await self._track_actions(n, step, now)
        return self._step_result()

    @respond.validator
    def _validate_respond(self, step: Respond) -> None:
        self._check(Step.respond, step)

    @workflow.update
    async def escalate(self, step: Escalate) -> StepResult:
        async with self._step(Step.escalate, step):
            now = workflow.now()
            requested = step.requested_at or now
            planned = await self._plan(
                self._rule_for(k, requested)
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
            details = {"requested_at": requested.isoformat()}
            if step.reasons:
                summary += f". Why: {step.reasons}"
                details["reasons"] = step.reasons
            if step.outcome_sought:
                summary += f". Outcome sought: {step.outcome_sought}"
                details["outcome_sought"] = self._outcome_sought = step.outcome_sought
            self._log(Step.escalate, step.by, summary, details)
            self._letter(
                LetterKind.escalation_received,
                "escalation_received",
                due=planned[1].due,
                owner_name=step.reviewer.name if step.reviewer else None,
            )
        return self._step_result()

    @escalate.validator
    def _validate_escalate(self, step: Escalate) -> None:
        self._check(Step.escalate, step)

    @workflow.update
    async def raise_new_issues(self, step: RaiseNewIssues) -> StepResult:
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
                policy=self._lodge.policy,
                bank_holidays=self._holidays or None,
                # the same resident and home; its category is its own, set when accepted
                tenure=self._tenure,
                property_reference=self._property_reference,
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
                **self._promises(1),  # the new complaint starts at stage 1
            )
        return self._step_result()

    @raise_new_issues.validator
    def _validate_raise_new_issues(self, step: RaiseNewIssues) -> None:
        self._check(Step.raise_new_issues, step)

    @workflow.update
    async def withdraw(self, step: Withdraw) -> StepResult:
        async with self._step(Step.withdraw, step):
            self._log(Step.withdraw, step.by, f"Withdrawn by the resident: {step.reason}")
            self._letter(LetterKind.withdrawal, "withdrawal", reasons=step.reason)
            self._close(ClosureReason.withdrawn)
        return self._step_result()

    @withdraw.validator
    def _validate_withdraw(self, step: Withdraw) -> None:
        self._check(Step.withdraw, step)

    # ------------------------------------------- what the complaint led to

    @workflow.update
    async def complete_action(self, step: CompleteAction) -> StepResult:
        async with self._step(Step.complete_action, step):
            now = workflow.now()
            action = next(a for a in self._actions if a.n == step.action)
            action.done_at, action.done_by, action.note = now, step.by, step.note
            action.done_on = step.done_on or self._today()
            self._meet(clock_id(ClockKey.remedy_action, action.n), now)
            self._log(
                Step.complete_action,
                step.by,
                f"Action {action.n} done on {day_text(action.done_on)}: {step.note}",
                {"action": action.n, "done_on": action.done_on.isoformat()},
            )
            if not any(a.open for a in self._actions):
                self._letter(
                    LetterKind.actions_completed,
                    f"actions_completed:{len(self._actions)}",
                    completed_actions=[
                        CompletedAction(action=a.action, done_on=a.done_on or a.due)
                        for a in self._actions
                    ],
                )
        return self._step_result()

    @complete_action.validator
    def _validate_complete_action(self, step: CompleteAction) -> None:
        self._check(Step.complete_action, step)

    @workflow.update
    async def record_compensation(self, step: RecordCompensation) -> StepResult:
        async with self._step(Step.record_compensation, step):
            paid_on = step.paid_on or self._today()
            self._compensation.payments.append(
                CompensationPayment(
                    amount=step.amount,
                    paid_on=paid_on,
                    recorded_at=workflow.now(),
                    by=step.by,
                    declined=step.declined,
                    note=step.note,
                )
            )
            said = (
                "The resident declined the compensation offered"
                if step.declined
                else f"Compensation of £{step.amount:,.2f} paid on {day_text(paid_on)}"
            )
            self._log(
                Step.record_compensation, step.by, said, {"note": step.note} if step.note else {}
            )
        return self._step_result()

    @record_compensation.validator
    def _validate_record_compensation(self, step: RecordCompensation) -> None:
        self._check(Step.record_compensation, step)

    @workflow.update
    async def refer_to_ombudsman(self, step: ReferToOmbudsman) -> StepResult:
        async with self._step(Step.refer_to_ombudsman, step):
            self._ombudsman = OmbudsmanCase(
                ombudsman_reference=step.ombudsman_reference,
                referred_on=step.referred_on,
                recorded_at=workflow.now(),
            )
            self._log(
                Step.refer_to_ombudsman,
                step.by,
                f"Referred to the Housing Ombudsman on {day_text(step.referred_on)} "
                f"(their reference {step.ombudsman_reference})",
            )
        return self._step_result()

    @refer_to_ombudsman.validator
    def _validate_refer_to_ombudsman(self, step: ReferToOmbudsman) -> None:
        self._check(Step.refer_to_ombudsman, step)

    @workflow.update
    async def record_evidence_request(self, step: RecordEvidenceRequest) -> StepResult:
        async with self._step(Step.record_evidence_request, step):
            case = self._referral()
            n = len(case.requests) + 1
            planned = await self._plan_one(
                self._rule_for(ClockKey.ombudsman_evidence, on=step.due_on)
            )
            case.requests.append(
                EvidenceRequest(
                    n=n,
                    description=step.description,
                    requested_on=step.requested_on or self._today(),
                    due_on=step.due_on,
                )
            )
            self._set_clock(planned, item=n)
            self._log(
                Step.record_evidence_request,
                step.by,
                f"The Ombudsman asked for evidence (request {n}), due {day_text(planned.due_day)}",
                {"request": n, "description": step.description},
            )
        return self._step_result()

    @record_evidence_request.validator
    def _validate_record_evidence_request(self, step: RecordEvidenceRequest) -> None:
        self._check(Step.record_evidence_request, step)

    @workflow.update
    async def record_evidence_sent(self, step: RecordEvidenceSent) -> StepResult:
        async with self._step(Step.record_evidence_sent, step):
            now = workflow.now()
            request = next(r for r in self._referral().requests if r.n == step.request)
            request.sent_at, request.note = now, step.note
            request.sent_on = step.sent_on or self._today()
            self._meet(clock_id(ClockKey.ombudsman_evidence, request.n), now)
            self._log(
                Step.record_evidence_sent,
                step.by,
                f"Evidence sent to the Ombudsman (request {request.n}) on "
                f"{day_text(request.sent_on)}: {step.note}",
            )
        return self._step_result()

    @record_evidence_sent.validator
    def _validate_record_evidence_sent(self, step: RecordEvidenceSent) -> None:
        self._check(Step.record_evidence_sent, step)

    @workflow.update
    async def record_determination(self, step: RecordDetermination) -> StepResult:
        async with self._step(Step.record_determination, step):
            case = self._referral()
            case.determination, case.findings = step.determination, step.findings
            case.determined_on = step.determined_on
            self._log(
                Step.record_determination,
                step.by,
                f"The Ombudsman's determination ({day_text(step.determined_on)}): "
                f"{DETERMINATION_LABELS[step.determination]}",
                {"findings": step.findings},
            )
        return self._step_result()

    @record_determination.validator
    def _validate_record_determination(self, step: RecordDetermination) -> None:
        self._check(Step.record_determination, step)

    @workflow.update
    async def record_ombudsman_order(self, step: RecordOmbudsmanOrder) -> StepResult:
        async with self._step(Step.record_ombudsman_order, step):
            case = self._referral()
            n = len(case.orders) + 1
            planned = await self._plan_one(self._rule_for(ClockKey.ombudsman_order, on=step.due_on))
            case.orders.append(
                OmbudsmanOrder(
                    n=n,
                    kind=step.kind,
                    description=step.description,
                    made_on=step.made_on or self._today(),
                    due_on=step.due_on,
                )
            )
            self._set_clock(planned, item=n)
            self._log(
                Step.record_ombudsman_order,
                step.by,
                f"{ORDER_KIND_LABELS[step.kind]} {n} from the Ombudsman, due "
                f"{day_text(planned.due_day)}",
                {"order": n, "description": step.description},
            )
        return self._step_result()

    @record_ombudsman_order.validator
    def _validate_record_ombudsman_order(self, step: RecordOmbudsmanOrder) -> None:
        self._check(Step.record_ombudsman_order, step)

    @workflow.update
    async def record_order_complied(self, step: RecordOrderComplied) -> StepResult:
        async with self._step(Step.record_order_complied, step):
            now = workflow.now()
            order = next(o for o in self._referral().orders if o.n == step.order)
            order.complied_at, order.evidence = now, step.evidence
            order.complied_on = step.complied_on or self._today()
            self._meet(clock_id(ClockKey.ombudsman_order, order.n), now)
            self._log(
                Step.record_order_complied,
                step.by,
                f"Complied with {ORDER_KIND_LABELS[order.kind].lower()} {order.n} on "
                f"{day_text(order.complied_on)}: {step.evidence}",
            )
        return self._step_result()

    @record_order_complied.validator
    def _validate_record_order_complied(self, step: RecordOrderComplied) -> None:
        self._check(Step.record_order_complied, step)

    def _referral(self) -> OmbudsmanCase:
        if self._ombudsman is None:
            raise rejected("Record the referral to the Ombudsman first.")
        return self._ombudsman

    def _today(self) -> date:
        return rules.local_today(workflow.now(), self._policy)

    def _offer_compensation(self, stage: int, step: Respond, now: datetime) -> None:
        amount = step.remedies.compensation
        if amount:
            self._compensation.offers.append(
                CompensationOffer(
                    stage=stage,
                    amount=amount,
                    offered_at=now,
                    basis=step.remedies.compensation_basis,
                )
            )

    async def _track_actions(self, stage: int, step: Respond, now: datetime) -> None:
        """Each action the response promised becomes a numbered item on a clock to its due
        date, reminding its responsible member of staff (or the owner) like any other."""
        actions = step.remedies.actions
        if not actions:
            return
        planned = await self._plan(
            self._rule_for(ClockKey.remedy_action, on=a.due) for a in actions
        )
        for action, plan in zip(actions, planned, strict=True):
            n = len(self._actions) + 1
            self._actions.append(
                TrackedAction(
                    n=n,
                    stage=stage,
                    action=action.action,
                    owner=action.owner,
                    responsible=action.responsible,
                    due=action.due,
                    promised_at=now,
                )
            )
            self._set_clock(plan, item=n)

    # ------------------------------------------------------- step plumbing

    def _state(self) -> ComplaintState:
        return ComplaintState(
            stage=self._stage,
            status=self._status,
            received_at=self._lodge.received_at,
            clocks=self._clocks,
            stage1_participants=frozenset(self._participants),
            points=tuple(self._points),
            closure=self._closure,
            grace_ends=self._grace_ends,
            incident_date=self._lodge.incident_date,
            became_aware_date=self._lodge.became_aware_date,
            owner=self._owner,
            category=self._category,
            tenure=self._tenure,
            property_reference=self._property_reference,
            actions=tuple(self._actions),
            compensation=self._compensation,
            ombudsman=self._ombudsman,
            kept_until=self._kept_until,
        )

    def _allowed(self) -> frozenset[Step]:
        return rules.allowed_steps(self._state(), workflow.now())

    def _rule(self, name: StrEnum, step: Any) -> None:
        rules.check(self._state(), Step(name), step, workflow.now(), self._policy)

    def _started_step(self, name: StrEnum, step: Any) -> None:
        if self._stage in (Stage.triage, Stage.stage1) and name in PARTICIPATING_STEPS:
            self._participate(step.by)

    def _classify(self, step: Classification) -> str:
        """Keep what the step gives (the rest as it was); say what changed, in the policy's
        words."""
        changes = []
        if step.category is not None and step.category != self._category:
            self._category = step.category
            label = (self._policy.categories or {}).get(step.category, step.category)
            changes.append(f"category {label}")
        if step.tenure is not None and step.tenure != self._tenure:
            self._tenure = step.tenure
            changes.append(f"tenure {TENURE_LABELS[step.tenure]}")
        ref = step.property_reference
        if ref is not None and ref != self._property_reference:
            self._property_reference = ref
            changes.append(f"property {ref}")
        return ", ".join(changes)

    @staticmethod
    def _classification(step: Classification) -> dict[str, Any]:
        fields = set(Classification.model_fields)
        return step.model_dump(mode="json", include=fields, exclude_none=True)

    def _participate(self, staff_id: str) -> None:
        if staff_id not in self._participants:
            self._participants.append(staff_id)

    # ------------------------------------------------------------- clocks

    def _is_staff_clock(self, clock: Clock) -> bool:
        return clock.key is not ClockKey.escalation_window

    def _clock_recipients(self, clock: Clock, include_team: bool) -> list[Recipient]:
        """An action's clock reminds the member of staff responsible for it (the owner if none);
        its breach goes to the team as well."""
        action = next(
            (a for a in self._actions if clock.key is ClockKey.remedy_action and a.n == clock.item),
            None,
        )
        return self._staff_recipients(include_team, action.responsible if action else None)

    def _special_alarms(self) -> list[datetime]:
        times = [
            c.due for c in self._clocks.values() if c.open and c.key is ClockKey.escalation_window
        ]
        if self._grace_ends:
            times.append(self._grace_ends)
        if self._kept_until:
            times.append(self._kept_until)
        return times

    def _finished(self) -> bool:
        return (
            self._stage is Stage.closed
            and self._grace_ends is None
            and not rules.still_kept(self._state(), workflow.now())
        )

    def _ring_special(self, now: datetime) -> bool:
        touched = False
        if self._kept_until and now >= self._kept_until:
            self._kept_until = None
            self._log(
                "referral_window_ended", None, "The time kept for an Ombudsman referral ended"
            )
            touched = True
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
            grace = self._policy.complaints.late_escalation_grace_days
            if self._lodge.policy is None and self._lodge.late_escalation_grace_days is not None:
                grace = self._lodge.late_escalation_grace_days  # as lodged, before policies
            self._grace_ends = now + timedelta(days=grace) if grace else None
            touched = True
        return touched

    # ------------------------------------------------- closure and effects

    def _close(self, reason: ClosureReason) -> None:
        # the stage's clocks stop; what the complaint led to (actions, the Ombudsman's) runs on
        self._stop_clocks(tuple(k for k, c in self._clocks.items() if c.item is None))
        self._stage, self._status = Stage.closed, Status.closed
        self._closure, self._closed_at = reason, workflow.now()
        self._log("closed", None, f"Case closed: {reason.value.replace('_', ' ')}")
        window = self._policy.ombudsman
        if window and window.referral_window_days and self._patched("ombudsman-window"):
            self._kept_until = self._closed_at + timedelta(days=window.referral_window_days)
        if (
            asks_satisfaction(reason)
            and SURVEY_KEY not in self._letter_keys  # once a case, even after a late escalation
            and self._patched("satisfaction-survey")
        ):
            # the nonce is the workflow's (deterministic on replay); the letters activity signs
            # it into the link, so the workflow never holds the secret
            self._letter(
                LetterKind.satisfaction_survey, SURVEY_KEY, survey_nonce=workflow.uuid4().hex
            )

    def _letter_context(self) -> dict[str, Any]:
        return {
            "stage": STAGE_NUMBER.get(self._stage),
            "points": self._points,
            "outcome_sought": self._outcome_sought,
            **self._promises(2 if self._stage is Stage.stage2 else 1),
        }

    def _promises(self, stage: int) -> dict[str, int]:
        """What the case's policy promises at `stage`, as its letters quote it."""
        c = self._policy.complaints
        return {
            "contact_working_days": c.stage2_contact if stage == 2 else c.stage1_contact,
            "acknowledgement_working_days": (
                c.stage2_acknowledgement if stage == 2 else c.stage1_acknowledgement
            ),
            "escalation_working_days": c.escalation_window,
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
            "category": self._category,
            "tenure": self._tenure.value if self._tenure else None,
            "property_reference": self._property_reference,
            "point_outcomes": [
                {
                    "stage": int(stage.removeprefix("stage")),
                    "point_index": i,
                    "decision": d.decision.value,
                    "root_cause": d.root_cause,
                }
                for stage, decisions in self._decisions.items()
                for i, d in enumerate(decisions)
            ],
            **self._tracking_rows(),
        }

    def _tracking_rows(self) -> dict[str, Any]:
        """What the complaint led to, as the records database's rows (domain/records.py)."""
        case = self._ombudsman
        return {
            "actions": [
                {
                    **a.model_dump(
                        include={"n", "stage", "action", "owner", "done_on", "done_by", "note"}
                    ),
                    "responsible_id": a.responsible.id if a.responsible else None,
                    "due_on": a.due,
                }
                for a in self._actions
            ],
            "compensation_offers": [
                {
                    "stage": o.stage,
                    "amount": o.amount,
                    "offered_on": rules.local_today(o.offered_at, self._policy),
                    "basis": o.basis.value if o.basis else None,
                }
                for o in self._compensation.offers
            ],
            "compensation_payments": [
                {"seq": i, "amount": p.amount, "paid_on": p.paid_on, "declined": p.declined}
                for i, p in enumerate(self._compensation.payments, start=1)
            ],
            "ombudsman": case.model_dump(
                include={
                    "ombudsman_reference",
                    "referred_on",
                    "determination",
                    "determined_on",
                    "findings",
                }
            )
            if case
            else None,
            "ombudsman_requests": [
                r.model_dump(include={"n", "description", "requested_on", "due_on", "sent_on"})
                for r in (case.requests if case else [])
            ],
            "ombudsman_orders": [
                o.model_dump(
                    include={
                        "n",
                        "kind",
                        "description",
                        "made_on",
                        "due_on",
                        "complied_on",
                        "evidence",
                    }
                )
                for o in (case.orders if case else [])
            ],
            "actions_outstanding": self._actions_outstanding(),
        }

    def _actions_outstanding(self) -> bool:
        return bool(self._decisions) and actions_outstanding(self._actions, self._compensation)

    def _details(self, status: Any) -> list[str]:
        return [
            f"**{self._stage.value} — {self._status.value.replace('_', ' ')}**"
            + (f" ({self._closure.value.replace('_', ' ')})" if self._closure else "")
        ]

    def _record_fields(self) -> set[str]:
        return RECORD_FIELDS

    def _status_model(self, timeline: bool = True) -> StepResult:
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
            category=self._category,
            tenure=self._tenure,
            property_reference=self._property_reference,
            categories=self._policy.categories or {},
            root_causes=self._policy.root_causes or {},
            actions=list(self._actions),
            compensation=self._compensation,
            ombudsman=self._ombudsman,
            actions_outstanding=self._actions_outstanding(),
            kept_until=self._kept_until,
            incident_date=self._lodge.incident_date,
            became_aware_date=self._lodge.became_aware_date,
            time_limit_ends=rules.time_limit_ends(
                self._lodge.incident_date, self._lodge.became_aware_date, self._policy
            ),
            responses=dict(self._responses),
            **self._case_fields(timeline),
        )
