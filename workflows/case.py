"""What every case workflow shares, complaint or enquiry: the effects queue (letters and records
performed in order, retried until done, letters that keep failing flagged), the clocks (reminders
before each deadline, breaches when one passes), steps serialised under one lock, and the commit
after every change (record, search attributes, current details for the Web UI).

A subclass supplies its state machine (`_allowed`, `_check`), what its letters and records say
(`_letter_context`, `_snapshot`, `_status_model`, `_details`) and any alarm of its own
(`_ring_special`, `_special_alarms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections import deque
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

with workflow.unsafe.imports_passed_through():
    from domain.adjustments import for_letters, needs_of
    from domain.clocks import (
        BankHolidays,
        Clock,
        ClockKey,
        DeadlineRequest,
        DeadlineRule,
        HolidayRequest,
        PlannedDeadline,
        clock_id,
        clock_label,
        earliest_open,
        holiday_years,
        local_day,
        plan,
        working_days,
    )
    from domain.complaint import LodgeComplaint, workflow_id
    from domain.letters import (
        Delivery,
        LetterContext,
        LetterKind,
        LetterRequest,
        Recipient,
        describe_letter_problems,
        letter_problems,
    )
    from domain.people import StaffMember
    from domain.policy import Policy, legacy_policy
    from domain.records import (
        RECORD_OUT_OF_STEP,
        CaseSnapshot,
        EffectsOutcome,
        EffectsRequest,
        RecordRequest,
        TimelineEntry,
        record_changes,
    )
    from domain.rules import StepRefused
    from domain.rules import day_text as day_text
    from domain.step_result import StepResult
    from domain.working_days import HolidaysNotLoaded, WorkingCalendar
    from workflows import search_attributes as sa
    from workflows.web_ui import plain

DEADLINES_TIMEOUT = timedelta(seconds=10)
LETTER_TIMEOUT = timedelta(seconds=45)
RECORD_TIMEOUT = timedelta(seconds=15)
# Not in a case's record data: its next deadline (the record works it out from its clocks when
# read) and how many effects were queued at that moment (its letters say which are still going).
NOT_RECORDED = frozenset({"next_deadline", "pending_effects"})
MOST_LETTERS_AT_ONCE = 10  # in one effects activity (its timeout grows with each)
# A record (alone, or with its commit's letters, which the effects activity never raises for) is
# retried for as long as it takes (nothing lost), backing off to every 10 minutes.
RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)
# A letter gets a quick round of attempts; if they all fail the case is marked LetterFailing (for
# operations and the daily sweep) and the letter is tried again a round at a time, after a pause
# (the lodge message's letter_retry_pause_seconds), until it goes. Never dropped.
LETTER_ROUND = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=4,
    non_retryable_error_types=["PermanentDeliveryError", "LetterDataError"],
)
TRANSIENT = frozenset({RetryState.MAXIMUM_ATTEMPTS_REACHED, RetryState.TIMEOUT})
# Every patch a case begun on this code takes, answered by one marker: each patch's own marker
# is a history event and an upsert of TemporalChangeVersion, two events each, at every case.
# Cases begun before this generation ask each patch as they always did. A patch added later is
# NOT one of these: give it its own `_patched` id (and start a new generation when they pile up).
GENERATION = "case-engine-2026-12"
GENERATION_PATCHES = frozenset(
    {
        "complaint-received-letter",
        "record-before-receipt",
        "record-before-letters",
        "effects-after-clocks",
        "tracked-remedies",
        "ombudsman-window",
        "satisfaction-survey",
        "clocks-planned-in-workflow",
        "effects-in-one-activity",
        "search-attributes-as-changed",
        "alarm-timer-kept",
    }
)


def rejected(message: str, *reasons: dict[str, str | None]) -> ApplicationError:
    """A refused step: its message, and each reason with the field it is about as the error's
    details (domain.rules.Reason.as_detail), so a form can show every one beside its field."""
    return ApplicationError(message, *reasons, type="StepRejected", non_retryable=True)


class CaseWorkflow:
    """Not a workflow itself: the base of ComplaintWorkflow and EnquiryWorkflow."""

    case_type: ClassVar[str]
    metric_prefix: ClassVar[str]

    def _init_case(
        self,
        reference: str,
        person: Any,
        retry_pause: int,
        policy: Policy | None,
        holidays: BankHolidays | None = None,
    ) -> None:
        self._generation: bool | None = None  # begun on this code (see GENERATION)
        self._reference = reference
        # The policy the case was lodged under, for life; cases lodged before cases carried one
        # run under the numbers of that time (and plan on that calendar: no calendar is sent).
        self._policy = policy or legacy_policy()
        self._calendar = policy.calendar if policy else None
        self._person = person  # Resident or Enquirer: name, email, address, writes_by_email
        self._retry_pause = retry_pause
        self._owner: Any = None
        # by `clock_id`: a ClockKey (a StrEnum, so `self._clocks[ClockKey.x]` finds it), or for one
        # of several clocks of a key ("remedy_action:2") the key and its number
        self._clocks: dict[str, Clock] = {}
        self._linked: list[str] = []
        self._letter_keys: list[str] = []
        self._failing: dict[str, datetime] = {}  # letter key → when it started failing
        self._timeline: list[TimelineEntry] = []
        self._recorded_upto = 0
        # the case's commits: how many, and the last one's record (its data whole), which the
        # next is sent as changes to
        self._revision = 0
        self._last_record: dict[str, Any] | None = None  # as JSON
        self._attributes: dict[str, Any] = {}  # the search attributes as last upserted
        self._alarm_rang = False
        # the bank holidays the case plans its clocks with, by year: those it was lodged with,
        # and any other year's loaded when first needed
        self._holidays: BankHolidays = dict(holidays or {})
        self._working_calendar: WorkingCalendar | None = None
        self._effects: deque[LetterRequest | RecordRequest] = deque()
        self._ready = False
        self._changed = False
        self._clocks_kept = False  # the clocks loop has ended (the case is finished)
        self._closed_at: datetime | None = None
        self._lock = asyncio.Lock()
        # While a step runs, what it logs and the letters it makes wait here, so a step refused
        # part-way (a letter it would break) leaves the case exactly as it was.
        self._step_log: list[tuple[str, str | None, str, dict[str, Any]]] | None = None
        self._step_letters: list[LetterRequest] | None = None
        self._step_task: asyncio.Task[Any] | None = None  # whose logs and letters wait

    # ------------------------------------------------------ subclass hooks

    def _allowed(self) -> frozenset[Any]:
        raise NotImplementedError

    def _rule(self, name: StrEnum, step: Any) -> None:
        """The policy's rule for the step (domain/*_rules.py): raises StepRefused."""
        raise NotImplementedError

    def _check(self, name: StrEnum, step: Any) -> None:
        """Refuse, with the plain-English reason, a step that may not happen now. Validators call
        it (a refusal leaves history untouched) and handlers call it again under the lock, after
        waiting their turn, since another step may have changed the case meanwhile."""
        try:
            self._rule(name, step)
        except StepRefused as err:
            raise rejected(err.reason, *(r.as_detail() for r in err.reasons)) from None

    def _started_step(self, name: StrEnum, step: Any) -> None:
        """Called under the lock once a step has passed its check."""

    def _letter_context(self) -> dict[str, Any]:
        return {}

    def _snapshot(self, status: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _status_model(self, timeline: bool = True) -> Any:
        """The case's whole status (the status query); `timeline=False` leaves the timeline out
        (a commit sends its new entries apart, and building them all grew with the case)."""
        raise NotImplementedError

    def _details(self, status: Any) -> list[str]:
        raise NotImplementedError

    def _record_fields(self) -> set[str]:
        """The fields of the case's records projection (ComplaintRecord, EnquiryRecord)."""
        raise NotImplementedError

    def _stage_and_status(self) -> tuple[str, str]:
        raise NotImplementedError

    def _finished(self) -> bool:
        raise NotImplementedError

    def _is_staff_clock(self, clock: Clock) -> bool:
        return True

    def _special_alarms(self) -> list[datetime]:
        return []

    def _ring_special(self, now: datetime) -> bool:
        return False

    def _patched(self, patch_id: str) -> bool:
        """`workflow.patched`, answered for a case begun on this code by its one marker."""
        if self._generation is None:
            self._generation = workflow.patched(GENERATION)
        if self._generation and patch_id in GENERATION_PATCHES:
            return True
        return workflow.patched(patch_id)

    # ------------------------------------------------------------ steps

    def _step(self, name: StrEnum, step: Any) -> StepContext:
        return StepContext(self, name, step)

    async def _wait_until_done(self) -> None:
        """Keep the clocks until the case is finished, then let every queued letter and record
        be done before the workflow completes: nothing lost."""
        effects = asyncio.create_task(self._perform_effects())
        await self._keep_clocks()
        self._clocks_kept = True  # the effects task no longer waits for the clocks to re-arm
        await workflow.wait_condition(
            lambda: workflow.all_handlers_finished() and not self._effects
        )
        effects.cancel()

    async def _open_linked_complaint(self, lodge: LodgeComplaint) -> str:
        """Start a complaint of its own that outlives this case (new issues at stage 2, an
        enquiry converted, a complaint about a service request), linked both ways."""
        await workflow.start_child_workflow(
            "ComplaintWorkflow",
            lodge,
            id=workflow_id(lodge.reference),
            parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            static_summary=f"Complaint {lodge.reference}",
        )
        self._linked.append(lodge.reference)
        return lodge.reference

    # ------------------------------------------------------------- clocks

    async def _plan(self, rules: Any) -> list[PlannedDeadline]:
        """Plan the clocks here, with the same pure calendar code, on the bank holidays loaded
        once (a local activity, recorded in history): no activity and no round trip a step. Cases
        begun before planned each in the `plan_deadlines` activity, and go on doing so."""
        rules = list(rules)
        if not self._patched("clocks-planned-in-workflow"):
            return await workflow.execute_activity(
                "plan_deadlines",
                DeadlineRequest(rules=rules, calendar=self._calendar),
                result_type=list[PlannedDeadline],
                start_to_close_timeout=DEADLINES_TIMEOUT,
            )
        while True:
            try:
                return [plan(rule, self._calendar_here()) for rule in rules]
            except HolidaysNotLoaded as missing:
                await self._load_holidays(missing.year)

    def _calendar_here(self) -> WorkingCalendar:
        if self._working_calendar is None:
            self._working_calendar = WorkingCalendar.from_policy(
                self._policy.calendar,  # legacy_policy()'s for a case lodged before policies
                bank_holidays=[d for days in self._holidays.values() for d in days],
                holiday_years=self._holidays,
            )
        return self._working_calendar

    async def _load_holidays(self, year: int) -> None:
        """Load a year's bank holidays (or the years around it, for a case lodged without any):
        an activity. Cases that loaded them in a local activity go on doing so; on a worker
        keeping no case in memory a local activity at lodging left the case's next workflow task
        to time out again and again, for minutes (bench/cold_cases.py)."""
        years = range(year, year + 1) if self._holidays else holiday_years(year)
        request = HolidayRequest(years=list(years), calendar=self._calendar)
        run = (
            workflow.execute_activity
            if self._patched("holidays-by-activity")
            else workflow.execute_local_activity
        )
        days = await run(
            "bank_holidays",
            request,
            result_type=list[date],
            start_to_close_timeout=DEADLINES_TIMEOUT,
        )
        for y in years:
            self._holidays[y] = [d for d in days if d.year == y]
        self._working_calendar = None

    def _rule_for(
        self,
        key: ClockKey,
        after: datetime | None = None,
        *,
        days: int | None = None,
        on: date | None = None,
    ) -> DeadlineRule:
        """A clock to plan, reminded as the case's policy says: due `days` (default: the policy's
        for `key`) working days after `after`'s receipt day, or on the date `on`."""
        lead = self._policy.reminders.lead_working_days
        if on is not None:
            return DeadlineRule(key=key, on_date=on, remind_days_before=lead)
        return DeadlineRule(
            key=key,
            after=after,
            working_days=days or working_days(self._policy, key),
            remind_days_before=lead,
        )

    async def _plan_one(self, rule: DeadlineRule) -> PlannedDeadline:
        (planned,) = await self._plan([rule])
        return planned

    def _set_clock(self, planned: PlannedDeadline, item: int | None = None) -> Clock:
        clock = Clock(
            key=planned.key,
            item=item,
            label=clock_label(planned.key, item),
            due=planned.due,
            due_day=planned.due_day,
            remind_at=planned.remind_at,
            original_due=planned.due,
            started_on=planned.counted_from,
        )
        self._clocks[clock_id(planned.key, item)] = clock
        return clock

    def _move_clock(self, clock: Clock, planned: PlannedDeadline) -> None:
        clock.due, clock.due_day = planned.due, planned.due_day
        clock.remind_at = planned.remind_at
        clock.reminded_at = None
        clock.extensions += 1

    def _stop_clocks(self, keys: Any) -> None:
        now = workflow.now()
        for key in keys:
            clock = self._clocks.get(key)
            if clock and clock.open:
                clock.stopped_at = now

    def _meet(self, key: str, at: datetime | None = None) -> None:
        clock = self._clocks.get(key)
        if clock and clock.open:
            clock.met_at = at or workflow.now()

    def _next_deadline(self) -> Clock | None:
        return earliest_open(self._clocks.values())

    def _overdue(self) -> bool:
        return any(
            c.open and c.breached_at for c in self._clocks.values() if self._is_staff_clock(c)
        )

    def _next_alarm(self) -> datetime | None:
        times = self._special_alarms()
        for c in self._clocks.values():
            if not c.open or not self._is_staff_clock(c):
                continue
            if c.reminded_at is None and c.breached_at is None and c.remind_at < c.due:
                times.append(c.remind_at)
            if c.breached_at is None:
                times.append(c.due)
        return min(times, default=None)

    async def _keep_clocks(self) -> None:
        # One timer for the next alarm, left running while a step leaves that alarm where it
        # was (each timer started and cancelled is two history events). Cases begun before
        # started a new one at every change, and go on doing so.
        steady = self._patched("alarm-timer-kept")
        timer: asyncio.TimerHandle | None = None
        armed_for: datetime | None = None
        while True:
            async with self._lock:
                self._ring_alarms()
            if self._finished():
                if timer is not None:
                    timer.cancel()
                return
            alarm = self._next_alarm()
            self._changed = False
            timeout = (alarm - workflow.now()) if alarm else None
            if timeout is not None and timeout <= timedelta(0):
                continue
            if not steady:
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(lambda: self._changed, timeout=timeout)
                continue
            if alarm != armed_for:
                if timer is not None:
                    timer.cancel()
                self._alarm_rang = False
                # started here, at once, so its command comes before any effect this change
                # queued (see _perform_effects)
                timer = (
                    asyncio.get_running_loop().call_later(timeout.total_seconds(), self._rang)
                    if timeout is not None
                    else None
                )
                armed_for = alarm
            await workflow.wait_condition(lambda: self._changed or self._alarm_rang)
            if self._alarm_rang:
                self._alarm_rang, timer, armed_for = False, None, None

    def _rang(self) -> None:
        self._alarm_rang = True

    def _ring_alarms(self) -> None:
        now = workflow.now()
        touched = self._ring_special(now)
        for c in list(self._clocks.values()):
            if not c.open or not self._is_staff_clock(c):
                continue
            if c.breached_at is None and now >= c.due:
                c.breached_at = now
                workflow.metric_meter().create_counter(
                    f"{self.metric_prefix}_deadline_breaches", "Deadlines missed"
                ).add(1, {"clock": c.key.value})
                self._log("deadline_missed", None, f"Missed: {c.label} (due {day_text(c.due_day)})")
                for recipient in self._clock_recipients(c, include_team=True):
                    self._letter(
                        LetterKind.deadline_breach,
                        # a clock moved or restarted keeps its own key for each round
                        f"breach:{c.id}:{c.extensions}:{recipient.role}"
                        if c.extensions
                        else f"breach:{c.id}:{recipient.role}",
                        recipient=recipient,
                        due=c.due,
                        clock_label=c.label,
                    )
                touched = True
            elif c.reminded_at is None and c.breached_at is None and now >= c.remind_at:
                c.reminded_at = now
                for recipient in self._clock_recipients(c, include_team=False):
                    self._letter(
                        LetterKind.deadline_reminder,
                        f"reminder:{c.id}:{c.extensions}",
                        recipient=recipient,
                        due=c.due,
                        clock_label=c.label,
                    )
                touched = True
        if touched:
            self._commit()

    def _clock_recipients(self, clock: Clock, include_team: bool) -> list[Recipient]:
        """Who a clock's reminder (`include_team` False) and breach notice go to."""
        return self._staff_recipients(include_team)

    def _staff_recipients(
        self, include_team: bool, person: StaffMember | None = None
    ) -> list[Recipient]:
        """The person a clock is about (by default the case's owner), and the team too when
        `include_team` or when nobody is named."""
        out: list[Recipient] = []
        who = person or self._owner
        if who:
            out.append(Recipient(name=who.name, email=who.email, role="owner"))
        if include_team or not out:
            out.append(Recipient(name=self._policy.teams.resolution.name, role="team"))
        return out

    def _step_result(self) -> StepResult:
        """What a step's Update answers (and the workflow's result): kept in history, so small."""
        stage, state = self._stage_and_status()
        nxt = self._next_deadline()
        return StepResult(
            reference=self._reference,
            kind=self.case_type,
            stage=stage,
            status=state,
            owner_id=self._owner.id if self._owner else None,
            next_deadline=nxt.due if nxt else None,
            next_deadline_label=nxt.label if nxt else None,
            overdue=self._overdue(),
            revision=max(self._revision, 1),
        )

    def _case_fields(self, timeline: bool = True) -> dict[str, Any]:
        """What every case's status carries, whatever its kind."""
        return {
            "workflow_id": workflow.info().workflow_id,
            "clocks": list(self._clocks.values()),
            "next_deadline": self._next_deadline(),
            "overdue": self._overdue(),
            "allowed_steps": sorted(self._allowed()),
            "linked_references": list(self._linked),
            "letters": list(self._letter_keys),
            "pending_effects": len(self._effects),
            "letters_failing": sorted(self._failing),
            "timeline": [
                {"at": e.at, "step": e.step, "actor": e.actor, "summary": e.summary}
                for e in (self._timeline if timeline else ())
            ],
            "closed_at": self._closed_at,
            "policy": self._policy.stamp(),
        }

    # ------------------------------------------------- timeline and effects

    def _log(
        self, step: str, actor: str | None, summary: str, details: dict[str, Any] | None = None
    ) -> None:
        if self._step_log is not None and self._in_step():
            self._step_log.append((str(step), actor, summary, details or {}))
            return
        self._timeline.append(
            TimelineEntry(
                seq=len(self._timeline) + 1,
                at=workflow.now(),
                step=str(step),
                actor=actor,
                summary=summary,
                details=details or {},
            )
        )

    def _letter(
        self,
        kind: LetterKind,
        key: str,
        recipient: Recipient | None = None,
        delivery: Delivery | None = None,
        **context: Any,
    ) -> None:
        person = self._person
        if recipient is None:
            recipient = Recipient(name=person.name, email=person.email, address=person.address)
            if delivery is None:
                delivery = Delivery.email if person.writes_by_email else Delivery.post
            # large print, an interpreter: only for a person with needs (none before they were
            # recorded, so an old case's letters are asked for as they were)
            needs = for_letters(needs_of(person))
            if needs is not None:
                context = {"adjustments": needs, **context}
        else:
            delivery = Delivery.email
        letter = LetterRequest(
            reference=self._reference,
            key=key,
            kind=kind,
            delivery=delivery,
            recipient=recipient,
            context=LetterContext(
                reference=self._reference,
                resident_name=person.name,
                **{**self._letter_context(), **context},
            ),
        )
        missing = letter_problems(kind, letter.context)
        if missing:
            problem = describe_letter_problems(kind, missing)
            if self._in_step():
                raise rejected(problem)  # the step is refused and undone: nothing is sent
            self._log("letter_failed", None, problem, {"letter_key": key})
            return
        if self._step_letters is not None and self._in_step():
            self._step_letters.append(letter)
            return
        self._letter_keys.append(key)
        self._effects.append(letter)

    def _in_step(self) -> bool:
        """Whether this code runs in the step holding the lock (not the effects task, which may
        log a failing letter while a step awaits an activity: that belongs to the case now)."""
        return self._step_task is not None and asyncio.current_task() is self._step_task

    def _commit_lodged(self) -> None:
        """The first commit, at lodging: its record goes before the letters lodging queued (the
        receipt), so the case is in the queues without waiting on a letter. Cases lodged before
        this change queued the receipt first, and their histories replay so."""
        self._commit()
        if self._patched("record-before-receipt"):
            self._effects.rotate(1)  # nothing has started yet: the record, last, goes first

    def _commit(self) -> None:
        """After every change: queue the record of it and refresh the search attributes."""
        entries = self._timeline[self._recorded_upto :]
        self._recorded_upto = len(self._timeline)
        for c in self._clocks.values():  # the landlord's day each was met, for reports
            if c.met_at is not None and c.met_on is None:
                c.met_on = local_day(c.met_at, self._policy)
        status = self._status_model(timeline=False)
        nxt = status.next_deadline
        stage, state = self._stage_and_status()
        self._revision += 1
        # the record's own versioned shape; the timeline goes to the event log
        # (less what is worked out again when read, or true only for the moment)
        data = status.model_dump(mode="json", include=self._record_fields() - NOT_RECORDED)
        before = self._last_record
        snapshot = CaseSnapshot(
            reference=self._reference,
            kind=self.case_type,
            workflow_id=workflow.info().workflow_id,
            stage=stage,
            status=state,
            owner_id=self._owner.id if self._owner else None,
            next_deadline=nxt.due if nxt else None,
            next_deadline_label=nxt.label if nxt else None,
            next_deadline_key=nxt.key.value if nxt else None,
            overdue=status.overdue,
            closed_at=self._closed_at,
            linked_references=list(self._linked),
            data=data,
            updated_at=workflow.now(),
            revision=self._revision,
            **self._snapshot(status),
        )
        whole = snapshot.model_dump(mode="json")
        self._effects.append(
            RecordRequest(snapshot=snapshot, events=entries)
            if before is None
            else RecordRequest(
                reference=self._reference,
                revision=self._revision,
                changes=record_changes(before, whole),
                events=entries,
            )
        )
        self._last_record = whole
        details = self._details(status)
        details += [
            f"Next deadline: {plain(nxt.label)}, due {plain(day_text(nxt.due_day))}"
            if nxt
            else "No open deadline",
            f"Owner: {plain(self._owner.id) if self._owner else 'unassigned'}",
            f"Overdue: {'YES' if status.overdue else 'no'}",
            f"Steps possible: {plain(', '.join(status.allowed_steps) or 'none')}",
        ]
        if self._failing:
            details.append(f"Letters failing: {plain(', '.join(sorted(self._failing)))}")
        # What the Temporal Web UI shows as the case's current details (Markdown: every value
        # escaped by `plain`): no personal data.
        workflow.set_current_details("\n\n".join(details))
        owner = self._owner
        updates = [
            sa.CASE_TYPE.value_set(self.case_type),
            sa.CASE_STAGE.value_set(stage),
            sa.CASE_STATUS.value_set(state),
            sa.OVERDUE.value_set(status.overdue),
            sa.LETTER_FAILING.value_set(bool(self._failing)),
            sa.CASE_OWNER.value_set(owner.id) if owner else sa.CASE_OWNER.value_unset(),
            sa.NEXT_DEADLINE.value_set(nxt.due) if nxt else sa.NEXT_DEADLINE.value_unset(),
            sa.NEXT_DEADLINE_KEY.value_set(nxt.key.value)
            if nxt
            else sa.NEXT_DEADLINE_KEY.value_unset(),
        ]
        # Only what changed, and nothing when nothing did (each upsert is a history event).
        # Cases begun before upserted every attribute every commit, and go on doing so.
        if self._patched("search-attributes-as-changed"):
            updates = [u for u in updates if self._attributes.get(u.key.name, u) != u.value]
            self._attributes.update({u.key.name: u.value for u in updates})
        if updates:
            workflow.upsert_search_attributes(updates)
        self._changed = True

    async def _perform_effects(self) -> None:
        # A change (a step's commit) wakes both the clocks loop (to re-arm its timer) and this
        # task (to record the case): which runs first must not depend on when each last began
        # to wait, or a case handled by a worker that had to replay it first (not cached) can
        # write its timer and its activity in an order that its own replay does not
        # (temporalio/sdk-python#1591's shape, reproduced by tests/workflows/test_cold_cases.py).
        # So the clocks go first: effects wait until the clocks loop has taken the change in.
        # Cases started before this run as they did, so their histories replay.
        clocks_first = self._patched("effects-after-clocks")
        # One activity a commit: its record, then its letters (activities/effects.py). Cases
        # begun before ran one activity for each, and go on doing so.
        together = self._patched("effects-in-one-activity")
        while True:
            if clocks_first:
                await workflow.wait_condition(
                    lambda: bool(self._effects) and (not self._changed or self._clocks_kept)
                )
            else:
                await workflow.wait_condition(lambda: bool(self._effects))
            if together:
                await self._perform_together()
                continue
            effect = self._effects[0]
            try:
                if isinstance(effect, LetterRequest):
                    await self._send(effect)
                else:
                    await self._record(effect)
            finally:
                self._effects.popleft()

    async def _perform_together(self) -> None:
        """The effects at the head of the queue up to its second record (or a letter limit),
        in one activity; a letter that failed there is then sent alone, in rounds, as any."""
        batch: list[LetterRequest | RecordRequest] = []
        record: RecordRequest | None = None
        letters: list[LetterRequest] = []
        for effect in self._effects:
            if isinstance(effect, RecordRequest):
                if record is not None:
                    break
                record = effect
            elif len(letters) < MOST_LETTERS_AT_ONCE:
                letters.append(effect)
            else:
                break
            batch.append(effect)
        try:
            outcome = await workflow.execute_activity(
                "perform_effects",
                EffectsRequest(record=record, letters=letters),
                result_type=EffectsOutcome,
                start_to_close_timeout=RECORD_TIMEOUT + LETTER_TIMEOUT * len(letters),
                retry_policy=RECORD_RETRY,
            )
            if outcome.record_out_of_step and record is not None:
                await self._record(self._whole_record(record))
            for letter in letters:
                if letter.key in outcome.refused:
                    self._letter_refused(letter, outcome.refused[letter.key])
                elif letter.key in outcome.failed:
                    await self._send(letter)
        finally:
            for _ in batch:
                self._effects.popleft()

    async def _record(self, request: RecordRequest) -> None:
        try:
            await workflow.execute_activity(
                "record_case",
                request,
                start_to_close_timeout=RECORD_TIMEOUT,
                retry_policy=RECORD_RETRY,
            )
        except ActivityError as err:
            if getattr(err.cause, "type", None) != RECORD_OUT_OF_STEP:
                raise
            await self._record(self._whole_record(request))

    def _whole_record(self, request: RecordRequest) -> RecordRequest:
        """A record the store could not take as changes (its row was written before records
        counted revisions), sent whole: the case as its latest commit left it, which the
        commits still queued then find already recorded."""
        assert self._last_record is not None  # a request was made, so a commit was
        return RecordRequest(
            snapshot=CaseSnapshot.model_validate(self._last_record), events=request.events
        )

    async def _send(self, letter: LetterRequest) -> None:
        while True:
            try:
                await workflow.execute_activity(
                    "send_letter",
                    letter,
                    start_to_close_timeout=LETTER_TIMEOUT,
                    retry_policy=LETTER_ROUND,
                )
            except ActivityError as err:
                cause = getattr(err.cause, "message", str(err.cause))
                if err.retry_state in TRANSIENT:
                    await self._letter_keeps_failing(letter, cause)
                    continue
                self._letter_refused(letter, cause)
                return
            if self._failing.pop(letter.key, None) is not None:
                self._log("letter_sent_late", None, f"Letter '{letter.key}' has now been sent")
                self._commit()
            return

    def _letter_refused(self, letter: LetterRequest, cause: str) -> None:
        self._failing.pop(letter.key, None)
        self._log(
            "letter_failed",
            None,
            f"Letter '{letter.key}' could not be sent and needs attention: {cause}",
            {"letter_key": letter.key},
        )
        self._commit()

    async def _letter_keeps_failing(self, letter: LetterRequest, cause: str) -> None:
        if letter.key not in self._failing:
            self._failing[letter.key] = workflow.now()
            pause = self._retry_pause
            self._log(
                "letter_failing",
                None,
                f"Letter '{letter.key}' keeps failing ({cause}); trying again every "
                f"{pause // 60 or pause} {'minutes' if pause >= 60 else 'seconds'}",
                {"letter_key": letter.key},
            )
            self._commit()
        await workflow.sleep(self._retry_pause)


# What a step's rollback leaves alone: the machinery, and what other tasks change meanwhile.
NOT_CASE_STATE = frozenset(
    {
        "_lock",
        "_effects",
        "_timeline",
        "_recorded_upto",
        "_failing",
        "_ready",
        "_changed",
        "_step_log",
        "_step_letters",
        "_step_task",
        "_generation",
        "_revision",
        "_last_record",
        "_attributes",
        "_alarm_rang",
        "_lodge",
        "_person",
        "_policy",
        "_calendar",
        "_holidays",
        "_working_calendar",
    }
)


class StepContext:
    """Serialises steps: waits for the case to be open and for any step or alarm in progress,
    checks the step again (its rule, under the lock), and afterwards records the change. A step
    refused part-way is undone: the case's state is restored and nothing it logged or queued
    is kept."""

    def __init__(self, wf: CaseWorkflow, name: StrEnum, step: Any) -> None:
        self._wf, self._name, self._step = wf, name, step
        self._saved: dict[str, Any] = {}

    async def __aenter__(self) -> None:
        wf = self._wf
        await workflow.wait_condition(lambda: wf._ready)
        await wf._lock.acquire()
        try:
            wf._check(self._name, self._step)
        except BaseException:
            wf._lock.release()
            raise
        self._saved = {k: copy.deepcopy(v) for k, v in vars(wf).items() if k not in NOT_CASE_STATE}
        wf._step_log, wf._step_letters = [], []
        wf._step_task = asyncio.current_task()
        wf._started_step(self._name, self._step)

    async def __aexit__(self, exc_type: object, exc: object, tb: object) -> None:
        wf = self._wf
        logged, letters = wf._step_log or [], wf._step_letters or []
        wf._step_log = wf._step_letters = wf._step_task = None
        try:
            if exc_type is not None:
                vars(wf).update(self._saved)
                return
            for entry in logged:
                wf._log(*entry)
            for letter in letters:
                wf._letter_keys.append(letter.key)
            if wf._patched("record-before-letters"):
                wf._commit()  # the record first: letters may be slow
                wf._effects.extend(letters)
            else:  # cases that took steps before: their histories queued the letters first
                wf._effects.extend(letters)
                wf._commit()
            workflow.metric_meter().create_counter(
                f"{wf.metric_prefix}_steps", "Staff steps taken"
            ).add(1, {"step": self._name.value})
        finally:
            wf._lock.release()
