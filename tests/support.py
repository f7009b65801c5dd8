"""Helpers for driving complaint and enquiry workflows in tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from config import Settings
from domain.complaint import ComplaintStatus, LodgeComplaint, workflow_id
from domain.enquiry import EnquiryStatus, LodgeEnquiry, enquiry_workflow_id
from domain.people import StaffMember
from records.store import RecordsStore
from workflows.cases import (
    lodge_once,
    new_complaint_reference,
    new_enquiry_reference,
    perform_enquiry_step,
    perform_step,
)
from workflows.complaint import ComplaintWorkflow

LONDON = ZoneInfo("Europe/London")
POLICY = Settings().policy  # the shipped policy/west-kent.toml: what cases are lodged under
SURVEY_SECRET = "test-survey-secret, never used for real"  # signs survey links in tests


def policy_with(section: str, **numbers: Any) -> Any:
    """The shipped policy with some numbers changed, for a case lodged under another policy."""
    return POLICY.model_copy(update={section: getattr(POLICY, section).model_copy(update=numbers)})


# The shipped policy counts each complaint under a category (needed before its response) and asks
# why each upheld or partly upheld point went wrong: what tests give, as staff would.
CATEGORY = "repairs"
ROOT_CAUSE = "delay"


def decided(point: str, decision: str = "upheld", reasons: str = "r") -> dict[str, str]:
    """A decision on a point as staff give it: an upheld or partly upheld one with its root
    cause."""
    answer = {"point": point, "decision": decision, "reasons": reasons}
    if decision != "not_upheld":
        answer["root_cause"] = ROOT_CAUSE
    return answer


JO = StaffMember(id="jo.officer", name="Jo Officer", email="jo.officer@wkha.example")
SAM = StaffMember(id="sam.reviewer", name="Sam Reviewer", email="sam.reviewer@wkha.example")
ALI = StaffMember(id="ali.advisor", name="Ali Advisor", email="ali.advisor@wkha.example")


def london(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


async def travel_to(env: WorkflowEnvironment, moment: datetime) -> None:
    """Skip the test server's clock forward to `moment`, firing every timer on the way."""
    now = await env.get_current_time()
    if moment < now:
        pytest.skip(f"{moment:%d %b %Y} is already past on the test server's clock")
    await env.sleep(moment - now)


def complaint(received_at: datetime, **overrides: Any) -> LodgeComplaint:
    data: dict[str, Any] = {
        "reference": new_complaint_reference(),
        "resident": {
            "name": "Ann Example",
            "email": "ann@example.org",
            "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "TN13 1AA"},
            "preferred_contact": "email",
        },
        "channel": "phone",
        "received_at": received_at,
        "description": "My boiler repair appointment was missed twice.",
        "points": ["Boiler repair appointment missed twice", "Nobody called back"],
        "outcome_sought": "Boiler fixed and an apology",
    }
    data.update(overrides)
    return LodgeComplaint.model_validate(data)


async def start(
    client: Client, case: LodgeComplaint, task_queue: str, now: datetime | None = None
) -> WorkflowHandle:
    """Lodge the case as every intake does (lodge_once, under the default settings' policy).
    `now` defaults to the case's received_at: the test server's clock is wherever the test
    travelled to, not the system's."""
    await lodge_once(
        client, case, task_queue, policy=case.policy or POLICY, now=now or case.received_at
    )
    handle = client.get_workflow_handle_for(ComplaintWorkflow.run, workflow_id(case.reference))
    await settle(handle)
    return handle


async def step(client: Client, reference: str, name: str, **payload: Any) -> ComplaintStatus:
    """Take the step and wait for its effects; the whole case after it (the status Query)."""
    await perform_step(client, reference, name, _jsonable(payload))
    return await settle(client.get_workflow_handle(workflow_id(reference)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, StaffMember):
        return value.model_dump()
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def enquiry(received_at: datetime, **overrides: Any) -> LodgeEnquiry:
    data: dict[str, Any] = {
        "reference": new_enquiry_reference(),
        "enquirer": {
            "name": "Ann Example",
            "email": "ann@example.org",
            "phone": "07700 900123",
            "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "TN13 1AA"},
        },
        "channel": "online_form",
        "received_at": received_at,
        "subject": "Rent statement",
        "message": "Please send me a copy of my rent statement for this year.",
    }
    data.update(overrides)
    return LodgeEnquiry.model_validate(data)


async def start_enquiry(
    client: Client, case: LodgeEnquiry, task_queue: str, now: datetime | None = None
) -> WorkflowHandle:
    """As start, for an enquiry."""
    await lodge_once(
        client, case, task_queue, policy=case.policy or POLICY, now=now or case.received_at
    )
    handle = client.get_workflow_handle(enquiry_workflow_id(case.reference))
    await settle(handle)
    return handle


async def enquiry_step(client: Client, reference: str, name: str, **payload: Any) -> EnquiryStatus:
    await perform_enquiry_step(client, reference, name, _jsonable(payload))
    return await settle(client.get_workflow_handle(enquiry_workflow_id(reference)))


async def status(handle: WorkflowHandle) -> Any:
    """The case's status Query: ComplaintStatus, or EnquiryStatus for an enquiry."""
    if handle.id.startswith("enquiry-"):
        return await handle.query("status", result_type=EnquiryStatus)
    return await handle.query(ComplaintWorkflow.status)


async def settle(handle: WorkflowHandle, seconds: float = 30) -> Any:
    """Wait (in real time, bounded) until the case has performed every queued letter and record.
    Activities run in real time; no timer is waited for here."""
    deadline = time.monotonic() + seconds
    while True:
        case = await status(handle)
        if case.timeline and case.pending_effects == 0:
            return case
        if time.monotonic() > deadline:
            raise AssertionError(f"{case.pending_effects} effects still pending after {seconds}s")
        await asyncio.sleep(0.05)


def letter_keys(store: RecordsStore, reference: str) -> list[str]:
    return [row.letter_key for row in store.letters(reference) if row.sent]


def letter_text(store: RecordsStore, reference: str, key: str) -> str:
    row = store.get_letter(reference, key)
    assert row is not None and row.sent, (
        f"letter {key} not sent; sent: {letter_keys(store, reference)}"
    )
    return row.body_html or ""


def clock(case: ComplaintStatus | EnquiryStatus, key: str) -> Any:
    return next(c for c in case.clocks if c.key == key)


# One member of staff per role, all with STAFF_PASSWORD: admin and browser tests sign in as them.
STAFF_PASSWORD = "correct horse battery staple"
STAFF_ACCOUNTS: dict[str, tuple[str, str]] = {
    "ali.advisor": ("Ali Advisor", "advisor"),
    "jo.officer": ("Jo Officer", "case_officer"),
    "sam.reviewer": ("Sam Reviewer", "reviewer"),
    "mo.manager": ("Mo Manager", "manager"),
}


def create_staff(store: RecordsStore) -> None:
    from admin.accounts import AccountStore, NewAccount, Role

    accounts = AccountStore(store)
    for account_id, (name, role) in STAFF_ACCOUNTS.items():
        accounts.create(
            NewAccount(
                id=account_id,
                name=name,
                email=f"{account_id}@wkha.example",
                role=Role(role),
                password=STAFF_PASSWORD,
            )
        )


@contextlib.contextmanager
def postgres_schema(base_url: str, prefix: str = "records_test") -> Iterator[str]:
    """A schema of its own on the PostgreSQL database at `base_url`, dropped afterwards: the URL
    that uses it."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def records_on(database: str, folder: Path, name: str) -> Iterator[RecordsStore]:
    """A migrated records store on `database` ("sqlite": a file in `folder`; "postgresql": a
    schema of its own on TEST_DATABASE_URL, skipping the test when that is not set)."""
    if database == "sqlite":
        found = RecordsStore(f"sqlite:///{folder / f'{name}.db'}")
        found.migrate()
        try:
            yield found
        finally:
            found.dispose()
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set")
    with postgres_schema(base, prefix=f"{name}_test") as url:
        found = RecordsStore(url)
        found.migrate()
        try:
            yield found
        finally:
            found.dispose()
