"""Performance against every promise (records/reports.py), from the `case_clocks` rows the store
keeps from each snapshot's clocks: a handful of cases whose figures are worked out by hand below.
SQLite always, PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command

from domain.clocks import CLOCK_LABELS, Clock, ClockKey
from domain.promises import PromiseFigures, promises
from domain.records import RecordRequest
from domain.working_days import WorkingCalendar
from records.clocks import fill_working_days
from records.reports import median, promise_report
from records.store import RecordsStore, alembic_config
from tests.records.test_store import snapshot
from tests.support import POLICY, london

MARCH = (date(2027, 3, 1), date(2027, 3, 31))


def cob(day: date) -> datetime:
    return london(day.year, day.month, day.day, 17, 15).astimezone(UTC)


def clock(key: ClockKey, due: date, started: date | None = None, **changes: Any) -> dict:
    """A clock as a case's recorded data holds it; `met` (a day) is met at noon that day."""
    met = changes.pop("met", None)
    values: dict[str, Any] = {
        "key": key,
        "label": CLOCK_LABELS[key],
        "due": cob(due),
        "due_day": due,
        "remind_at": cob(due) - timedelta(days=1),
        "original_due": changes.pop("original_due", cob(due)),
        "started_on": started,
    }
    if met is not None:
        values["met_at"] = london(met.year, met.month, met.day, 12).astimezone(UTC)
        values["met_on"] = met
    values.update(changes)
    return Clock.model_validate(values).model_dump(mode="json")


def record(store: RecordsStore, reference: str, channel: str, *clocks: dict) -> None:
    store.record(
        RecordRequest(
            snapshot=snapshot(
                reference,
                channel=channel,
                data={"clocks": list(clocks)},
                updated_at=datetime.now(UTC),
            )
        )
    )


def d(day: int, month: int = 3) -> date:
    return date(2027, month, day)


def cases(store: RecordsStore) -> None:
    """March 2027: Mon 1, Tue 2, ... Fri 5, Mon 8 ... Fri 19 (no bank holiday before Good Friday,
    26 March)."""
    record(
        store,
        "CMP-A",
        "phone",
        clock(ClockKey.s1_contact, d(4), d(1), met=d(2)),  # met: 1 working day
        clock(ClockKey.s1_acknowledgement, d(8), d(1), met=d(5)),  # met: 4
        clock(  # extended once by 5 working days, then met: 10 working days from Fri 5
            ClockKey.s1_response,
            d(26),
            d(5),
            met=d(19),
            original_due=cob(d(19)),
            extensions=1,
            extended_by_working_days=5,
        ),
    )
    record(
        store,
        "CMP-B",
        "email",
        # breached on Thu 4, met late on Mon 8: missed, 5 working days (2, 3, 4, 5, 8)
        clock(ClockKey.s1_contact, d(4), d(1), met=d(8), breached_at=cob(d(4))),
        # withdrawn before it fell due: counts for nothing
        clock(ClockKey.s1_acknowledgement, d(8), d(1), stopped_at=cob(d(5))),
        # met in April: not in March's figures
        clock(ClockKey.s1_response, d(6, 4), d(22), met=d(1, 4)),
    )
    record(store, "ENQ-C", "help_email", clock(ClockKey.enquiry_reply, d(4), d(3), met=d(3)))
    record(
        store,
        "ENQ-D",
        "letter",
        clock(ClockKey.enquiry_reply, d(8), d(1), breached_at=cob(d(8))),  # missed, never met
    )
    record(store, "ENQ-E", "letter", clock(ClockKey.enquiry_reply, d(30), d(23)))  # still open


@pytest.fixture
def store(database_url: str) -> Iterator[RecordsStore]:
    """A store that counts working days with the shipped policy's calendar, as the worker's."""
    store = RecordsStore(database_url, calendar=WorkingCalendar.from_policy(POLICY.calendar))
    store.migrate()
    yield store
    store.dispose()


def contact_of(rows: list[Any]) -> Any:
    return next(r for r in rows if r.clock == "s1_contact")


def figures(report: Any, promise: str) -> PromiseFigures:
    return next(p for p in report.promises if p.promise == promise)


def test_each_promise_is_counted_on_its_settled_clocks(store: RecordsStore) -> None:
    cases(store)
    report = promise_report(store, *MARCH, POLICY)

    assert [p.promise for p in report.promises] == [p.id for p in promises(POLICY)]
    contact = figures(report, "s1_contact")
    assert (contact.due, contact.met, contact.missed) == (2, 1, 1)
    assert contact.percent_met == 50.0 and contact.median_working_days == 3.0
    assert contact.label == "Stage 1: contact the resident within 3 working days"
    ack = figures(report, "s1_acknowledgement")
    assert (ack.due, ack.met, ack.median_working_days) == (1, 1, 4.0), "the stopped one: none"
    response = figures(report, "s1_response")
    assert (response.due, response.met, response.extended, response.exceptional) == (1, 1, 1, 0)
    assert response.median_working_days == 10.0
    online = figures(report, "enquiry_reply:help_email")
    assert (online.due, online.met, online.percent_met, online.median_working_days) == (
        1,
        1,
        100.0,
        0.0,
    )
    assert online.label == "Email to the help address: reply by the end of the next working day"
    letter = figures(report, "enquiry_reply:letter")
    assert (letter.due, letter.missed, letter.percent_met, letter.median_working_days) == (
        1,
        1,
        0.0,
        None,
    ), "the open one is not yet counted"
    assert letter.label == "Letter: reply within 5 working days"
    nothing = figures(report, "s2_response")
    assert (nothing.due, nothing.percent_met) == (0, None)

    assert [m.month for m in report.months] == ["2027-03"]
    assert report.months[0].promises == report.promises


def test_months_split_a_longer_period(store: RecordsStore) -> None:
    cases(store)
    report = promise_report(store, d(1), d(30, 4), POLICY)
    assert [m.month for m in report.months] == ["2027-03", "2027-04"]
    april = report.months[1]
    assert figures(april, "s1_response").met == 1
    assert figures(report, "s1_response").due == 2
    # 10, and 6 from Mon 22 Mar to Thu 1 Apr (23, 24, 25, 30, 31 Mar, 1 Apr: Good Friday and
    # Easter Monday are bank holidays)
    assert figures(report, "s1_response").median_working_days == 8.0


def test_a_snapshot_keeps_the_clock_rows_in_step(store: RecordsStore) -> None:
    record(store, "CMP-A", "phone", clock(ClockKey.s1_contact, d(4), d(1)))
    (row,) = store.clocks("CMP-A")
    assert (row.clock, row.outcome, row.due_month, row.started_on) == (
        "s1_contact",
        "open",
        "2027-03",
        d(1),
    )
    record(
        store,
        "CMP-A",
        "phone",
        clock(ClockKey.s1_contact, d(4), d(1), met=d(2)),
        clock(ClockKey.remedy_action, d(20), item=2, label="Put right: action 2"),
    )
    rows = {r.clock: r for r in store.clocks("CMP-A")}
    assert set(rows) == {"s1_contact", "remedy_action:2"}
    assert (rows["s1_contact"].outcome, rows["s1_contact"].met_on) == ("met", d(2))
    assert rows["remedy_action:2"].item == 2


def test_the_migration_makes_the_rows_of_cases_recorded_before(store: RecordsStore) -> None:
    """Down to 0010 drops the table; up again makes each case's rows from its recorded data, and
    the store then counts their working days taken."""
    cases(store)
    before = {ref: store.clocks(ref) for ref in ("CMP-A", "CMP-B", "ENQ-C")}
    assert contact_of(before["CMP-A"]).working_days_taken == 1
    with store.writer.begin() as connection:
        command.downgrade(alembic_config(connection), "0010")
    store.migrate()
    assert {ref: store.clocks(ref) for ref in before} == before
    assert figures(promise_report(store, *MARCH, POLICY), "s1_contact").median_working_days == 3.0


def test_a_store_without_a_calendar_counts_no_working_days(database_url: str) -> None:
    plain = RecordsStore(database_url)
    try:
        plain.migrate()
        cases(plain)
        assert contact_of(plain.clocks("CMP-A")).working_days_taken is None
        contact = figures(promise_report(plain, *MARCH, POLICY), "s1_contact")
        assert (contact.due, contact.median_working_days) == (2, None)
        assert fill_working_days(plain.writer, WorkingCalendar.from_policy(POLICY.calendar)) == 6
        assert contact_of(plain.clocks("CMP-A")).working_days_taken == 1
    finally:
        plain.dispose()


def test_median_of_counts() -> None:
    assert median(Counter()) is None
    assert median(Counter({3: 1})) == 3.0
    assert median(Counter({1: 1, 5: 1})) == 3.0
    assert median(Counter({0: 2, 7: 1})) == 0.0
    assert median(Counter({2: 2, 4: 2})) == 3.0
