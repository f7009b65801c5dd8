"""A Temporal outage across a deadline (issue 9, "a fault test on the dev server"): stop Temporal,
let a case's deadlines pass while it is down, start it again on the same database file. The
breach timers that fell due during the outage fire, and every letter goes exactly once.

Real time is the point here, so the case runs under a policy of its own whose calendar makes
today a working day closing a few seconds from now: a complaint received the working day before,
with one-working-day contact and acknowledgement clocks, is due at today's close. The wait is
bounded (about 20 s); nothing sleeps for days."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from activities.deadlines import calendar_for
from domain.clocks import ClockKey
from domain.complaint import workflow_id
from domain.policy import Policy, parse_policy
from records.store import RecordsStore
from tests.conftest import STACK_CONVERTER, STACK_PAYLOAD_KEYS
from tests.fakes.sendgrid_server import FakeSendGrid
from tests.processes import ServiceProcess, TemporalDevServer, free_port
from tests.support import JO, SURVEY_SECRET, complaint, settle, status
from workflows.cases import lodge_once

DUE_IN = timedelta(seconds=18)  # from lodging to the deadline: time to settle and stop Temporal
DOWN_PAST_DUE = timedelta(seconds=4)  # Temporal stays down this long after the deadline
CLOCKS = {ClockKey.s1_contact, ClockKey.s1_acknowledgement}

POLICY = """
name = "Outage test: every day a working day, closing at {closes}"
version = "outage-test"

[calendar]
timezone = "{timezone}"
bank_holidays_country = "{country}"
closure_days = []
{office_hours}

[complaints]
stage1_contact = 1
stage1_acknowledgement = 1
stage1_response = 10
stage1_extension_cap = 10
escalation_window = 20
late_escalation_grace_days = 90
stage2_contact = 3
stage2_acknowledgement = 5
stage2_response = 20
stage2_extension_cap = 20
time_limit_months = 12

[enquiries]
team_update = 5
holding_reply_horizon_days = 92
[enquiries.reply_working_days]
online_form = 1
help_email = 1
social_media = 1
team_email = 5
letter = 5
callback = 5
phone = 1
in_person = 1

[reminders]
lead_working_days = 0
one_day_clock_lead_working_days = 0

[urgency]
due_soon_working_days = 2

[teams]
resolution = {{ name = "Customer resolution team", signature = "Customer Resolution Team" }}
services = {{ name = "Customer services team", signature = "Customer Services Team" }}
"""
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def policy_closing_at(due: datetime) -> str:
    """A policy under which today is a working day that closes at `due` (whole seconds): every
    day of the week open from midnight, in a zone where `due` is not near midnight, with the
    bank holidays of a country for which today is not one."""
    timezone = "UTC" if 1 <= due.hour < 23 else "Etc/GMT+3"  # Etc/GMT+3 is UTC-3
    local = due.astimezone(ZoneInfo(timezone))
    closes = f"{local:%H:%M:%S}"
    hours = "\n".join(
        f'office_hours.{day} = {{ opens = "00:00:00", closes = "{closes}" }}' for day in DAYS
    )
    for country in ("GB", "US", "JP", "IL"):
        text = POLICY.format(closes=closes, timezone=timezone, country=country, office_hours=hours)
        if calendar_for(parse_policy(text).calendar).is_working_day(local.date()):
            return text
    raise AssertionError(f"{local:%d %b} is a bank holiday everywhere tried")


def received_day_before(due: datetime, policy: Policy) -> datetime:
    """Now's time of day on the working day before `due`'s: received then, a one-working-day
    clock falls due at today's close."""
    calendar = calendar_for(policy.calendar)
    now = datetime.now(calendar.tz)
    before = calendar.add_working_days(due.astimezone(calendar.tz).date(), -1)
    return datetime.combine(before, now.time(), tzinfo=calendar.tz)


async def connect(address: str, seconds: float = 30) -> Client:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await Client.connect(address, data_converter=STACK_CONVERTER)
        except RuntimeError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


def letter_keys(fake: FakeSendGrid, reference: str) -> Counter[str]:
    return Counter(
        r["headers"]["X-Letter-Key"].removeprefix(f"{reference}/") for r in fake.requests
    )


async def test_breaches_due_while_temporal_is_down_fire_after_restart_and_letters_go_once(
    tmp_path: Path,
):
    server = TemporalDevServer(free_port(), tmp_path / "temporal.log", tmp_path / "temporal.db")
    worker: ServiceProcess | None = None
    with FakeSendGrid() as fake:
        try:
            server.start()
            client = await connect(server.address)
            due = (datetime.now(UTC) + DUE_IN).replace(microsecond=0)
            policy_text = policy_closing_at(due)
            policy = parse_policy(policy_text)
            (tmp_path / "policy.toml").write_text(policy_text)
            env = {
                **os.environ,
                "TEMPORAL_ADDRESS": server.address,
                "TASK_QUEUE": "outage",
                "DATABASE_URL": f"sqlite:///{tmp_path / 'records.db'}",
                "OUTBOX_DIR": str(tmp_path / "outbox"),
                "POLICY_FILE": str(tmp_path / "policy.toml"),
                "PAYLOAD_KEYS": STACK_PAYLOAD_KEYS,
                "SURVEY_SECRET": SURVEY_SECRET,
                "SENDGRID_API_KEY": "SG.test",
                "SENDGRID_HOST": fake.url,
                "PYTHONUNBUFFERED": "1",
            }
            worker = ServiceProcess("worker", env, tmp_path / "worker.log", "polling task queue")
            worker.start()

            case = complaint(
                received_day_before(due, policy), owner=JO.model_dump(), channel="online_form"
            )
            ref = case.reference
            await lodge_once(client, case, env["TASK_QUEUE"], policy=policy)
            handle = client.get_workflow_handle(workflow_id(ref))
            before = await settle(handle, 30)
            assert {c.key: c.due for c in before.clocks} == dict.fromkeys(CLOCKS, due)
            assert not before.overdue and not any(c.breached_at for c in before.clocks)
            # lodged: the receipt letter, and each clock's reminder (due today: at once)
            assert letter_keys(fake, ref) == Counter(before.letters)
            assert not [k for k in before.letters if k.startswith("breach:")]

            server.stop()  # Temporal goes down before the deadline ...
            went_down = datetime.now(UTC)
            assert went_down < due, "too slow to stop Temporal before the deadline"
            # ... and stays down until it has passed (real time: bounded, about 20 s)
            await asyncio.sleep((due + DOWN_PAST_DUE - datetime.now(UTC)).total_seconds())
            restarting = datetime.now(UTC)
            server.start()  # the same port and database file; the worker reconnects itself
            came_back = datetime.now(UTC)
            client = await connect(server.address)
            handle = client.get_workflow_handle(workflow_id(ref))

            deadline = time.monotonic() + 60
            while True:
                try:
                    after = await status(handle)
                except (RPCError, WorkflowQueryFailedError):
                    after = None  # no worker back on the task queue yet to answer
                if (
                    after is not None
                    and after.pending_effects == 0
                    and all(c.breached_at for c in after.clocks)
                ):
                    break
                assert time.monotonic() < deadline, f"no breach 60 s after restart: {after}"
                await asyncio.sleep(0.2)
            restart_to_breach = datetime.now(UTC) - came_back
        finally:
            if worker is not None:
                worker.stop()
            server.stop()

    # the timers that fell due in the outage fired once Temporal was back
    assert went_down < due < restarting
    for clock in after.clocks:
        assert clock.breached_at is not None and clock.breached_at >= restarting
    assert after.overdue
    breaches = {f"breach:{k.value}:{who}" for k in CLOCKS for who in ("owner", "team")}
    assert breaches <= set(after.letters)
    # every letter (from before the outage and after it) went once, and the ledger agrees
    sent = letter_keys(fake, ref)
    assert sent == Counter(after.letters), sent
    store = RecordsStore(env["DATABASE_URL"])
    rows = store.letters(ref)
    assert {r.letter_key for r in rows} == set(after.letters)
    assert all(r.sent and r.attempts == 1 for r in rows), [
        (r.letter_key, r.attempts, r.status) for r in rows
    ]
    record = store.get_case(ref)
    assert record is not None and record.overdue
    missed = [e for e in store.events(ref) if e.step == "deadline_missed"]
    assert len(missed) == len(CLOCKS)
    print(f"breaches recorded {restart_to_breach.total_seconds():.1f}s after Temporal restarted")
