"""The daily sweep's activities: is today a working day, find overdue and at-risk cases and
cases whose letters keep failing (Temporal visibility queries), keep the report in the records
database, and email it to the team inbox and every active manager. At risk is "due soon" by the
urgency rule the queues use (domain/urgency.py), with the policy's due-soon working days.

Sweeping and emailing are separate activities, so a failing email provider neither loses the
day's report nor runs the queries again. Both are idempotent per London day:
- `run_sweep` stores one report per day; running it again that day replaces it.
- `email_sweep_report` keeps a ledger per (day, recipient) in the report's row: a recipient
  already marked is skipped. Outbox delivery is then exactly-once (the file is named by the key
  `sweep-<day>-<recipient>`). Through SendGrid a duplicate is possible only if the worker dies
  between SendGrid accepting the message and the ledger commit (the letters' documented window);
  each message carries `X-Letter-Key: SWEEP/<key>` so it can be spotted.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowExecution

from activities.deadlines import calendar_from_settings
from config import Settings
from domain.complaint import workflow_id
from domain.enquiry import enquiry_workflow_id
from domain.letters import Delivery
from domain.roles import Role
from domain.sweep import (
    AT_RISK_QUERY,
    LETTERS_FAILING_QUERY,
    OVERDUE_QUERY,
    SweepCase,
    SweepEmailed,
    SweepReport,
    SweepRequest,
    SweepSection,
    WorkingDayAnswer,
    WorkingDayQuestion,
)
from domain.urgency import soon_ends
from domain.working_days import WorkingCalendar
from letters.delivery import OutgoingLetter, deliver
from letters.sweep import render_sweep_report
from records.store import RecordsStore
from workflows import search_attributes as sa

SWEEP_REFERENCE = "SWEEP"
TEAM_RECIPIENT = "team"
MAX_LISTED = 200  # cases listed per section; the count is always the query's full count
CASE_PREFIXES = (workflow_id(""), enquiry_workflow_id(""))  # "complaint-", "enquiry-"


def at_risk_query(cutoff: datetime) -> str:
    """Open, not overdue, something due from staff, next deadline no later than `cutoff` (see
    `AT_RISK_QUERY`)."""
    before = cutoff.astimezone(UTC) + timedelta(seconds=1)
    return f'{AT_RISK_QUERY}"{before:%Y-%m-%dT%H:%M:%SZ}"'


def at_risk_cutoff(day: date, calendar: WorkingCalendar, due_soon_working_days: int) -> datetime:
    """The sweep day's "due soon" bound (UTC): close of business on the Nth working day after
    it, as the queues count it that day."""
    return soon_ends(day, calendar, due_soon_working_days)


def sweep_letter_key(day: date, recipient_id: str) -> str:
    return f"sweep-{day.isoformat()}-{recipient_id}"


def _case(execution: WorkflowExecution) -> SweepCase:
    attrs = execution.typed_search_attributes
    return SweepCase(
        reference=next(
            (execution.id.removeprefix(p) for p in CASE_PREFIXES if execution.id.startswith(p)),
            execution.id,
        ),
        workflow_id=execution.id,
        stage=attrs.get(sa.CASE_STAGE),
        status=attrs.get(sa.CASE_STATUS),
        next_deadline=attrs.get(sa.NEXT_DEADLINE),
        owner=attrs.get(sa.CASE_OWNER),
    )


class SweepActivities:
    def __init__(self, client: Client, settings: Settings, store: RecordsStore) -> None:
        self.client = client
        self.settings = settings
        self.store = store
        self.calendar = calendar_from_settings(settings)

    @activity.defn(name="sweep_is_working_day")
    async def is_working_day(self, question: WorkingDayQuestion) -> WorkingDayAnswer:
        cal = self.calendar
        day = question.day or question.at.astimezone(cal.tz).date()
        if cal.office_hours.on(day.weekday()) is None:
            reason = "weekend"
        elif cal.is_bank_holiday(day):
            reason = "bank holiday"
        elif day in cal.closures:
            reason = "closure day"
        else:
            return WorkingDayAnswer(day=day, working=True)
        return WorkingDayAnswer(day=day, working=False, reason=reason)

    @activity.defn(name="run_sweep")
    async def run_sweep(self, request: SweepRequest) -> SweepReport:
        days = self.settings.policy.urgency.due_soon_working_days
        cutoff = at_risk_cutoff(request.day, self.calendar, days)
        overdue, at_risk, failing = await asyncio.gather(
            self._section("Overdue", OVERDUE_QUERY),
            self._section("At risk", at_risk_query(cutoff)),
            self._section("Letters failing", LETTERS_FAILING_QUERY),
        )
        report = SweepReport(
            day=request.day,
            generated_at=datetime.now(UTC),
            at_risk_cutoff=cutoff,
            overdue=overdue,
            at_risk=at_risk,
            letters_failing=failing,
        )
        await asyncio.to_thread(self.store.save_sweep_report, report)
        activity.logger.info(
            "Sweep for %s: %d overdue, %d at risk, %d with a letter failing",
            request.day,
            overdue.total,
            at_risk.total,
            failing.total,
        )
        return report

    async def _section(self, title: str, query: str) -> SweepSection:
        count = await self.client.count_workflows(query)
        cases = [_case(w) async for w in self.client.list_workflows(query, limit=MAX_LISTED)]
        cases.sort(key=lambda c: (c.next_deadline or datetime.max.replace(tzinfo=UTC), c.reference))
        return SweepSection(
            title=title, query=query, total=max(count.count, len(cases)), cases=cases
        )

    @activity.defn(name="email_sweep_report")
    def email_sweep_report(self, request: SweepRequest) -> SweepEmailed:
        """Email the day's stored report to the team inbox and every active manager, each once."""
        report = self.store.sweep_report(request.day)
        if report is None:
            raise LookupError(f"No sweep report for {request.day}; run the sweep first.")
        rendered = render_sweep_report(report, self.settings)
        recipients = [
            (
                TEAM_RECIPIENT,
                self.settings.policy.teams.resolution.signature,
                self.settings.team_inbox,
            )
        ]
        recipients += self.store.active_staff(Role.manager.value)
        done = self.store.sweep_emailed(request.day)
        for recipient_id, name, email in recipients:
            key = sweep_letter_key(request.day, recipient_id)
            if recipient_id in done:
                continue
            letter = OutgoingLetter(
                reference=SWEEP_REFERENCE,
                letter_key=key,
                delivery=Delivery.email,
                to_name=name,
                to_email=email,
                rendered=rendered,
            )
            delivered = deliver(letter, self.settings)
            self.store.mark_sweep_emailed(
                request.day,
                recipient_id,
                {
                    "letter_key": key,
                    "sent_at": datetime.now(UTC).isoformat(),
                    "provider_id": delivered.provider_id,
                    "location": delivered.location,
                },
            )
            activity.logger.info("Sweep report for %s sent (%s)", request.day, key)
        return SweepEmailed(day=request.day, recipients=[r[0] for r in recipients])
