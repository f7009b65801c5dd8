"""Each case's clocks, one row a clock (`case_clocks`), so the performance report counts every
promise with plain SQL (`GROUP BY key, outcome`) on SQLite and PostgreSQL alike, rather than
digging into each case's JSON (domain/promises.py says what each promise counts).

`RecordsStore.record` makes the rows say what the clocks in the newest snapshot's `data` say
(`clock_rows`); migration 0011 made them for the cases recorded before.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    bindparam,
    select,
    update,
)
from sqlalchemy.orm import Mapped, mapped_column

from domain.clocks import Clock
from domain.promises import Outcome
from domain.records import CaseSnapshot, ClockRow
from domain.working_days import WorkingCalendar
from records.schema import Base

REPORT_INDEX = (
    "key",
    "channel",
    "due_month",
    "outcome",
    "working_days_taken",
    "due_day",
    "extensions",
    "exceptional_extension",
)


class CaseClock(Base):
    __tablename__ = "case_clocks"
    __table_args__ = (
        UniqueConstraint("reference", "clock"),
        # covers the performance report's one GROUP BY (records/reports.py), so SQLite reads the
        # index alone; the TSM's look-ups by key use its first column
        Index("ix_case_clocks_report", *REPORT_INDEX),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    clock: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(40))
    item: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(40))
    due: Mapped[datetime]
    due_day: Mapped[date] = mapped_column(Date)
    due_month: Mapped[str] = mapped_column(String(7))
    original_due_day: Mapped[date] = mapped_column(Date)
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    extended_by_working_days: Mapped[int] = mapped_column(Integer, default=0)
    exceptional_extension: Mapped[bool] = mapped_column(Boolean, default=False)
    started_on: Mapped[date | None] = mapped_column(Date)
    met_at: Mapped[datetime | None]
    met_on: Mapped[date | None] = mapped_column(Date)
    breached_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(10))
    working_days_taken: Mapped[int | None] = mapped_column(Integer)


def outcome(clock: Clock) -> str:
    """What became of the clock (domain/promises.py): met by its due moment, missed (breached,
    or met after it), stopped or lapsed before it fell due, or still open."""
    if clock.breached_at is not None or (clock.met_at is not None and clock.met_at > clock.due):
        return Outcome.missed
    if clock.met_at is not None:
        return Outcome.met
    if clock.lapsed_at is not None:
        return Outcome.lapsed
    if clock.stopped_at is not None:
        return Outcome.stopped
    return Outcome.open


def working_days_taken(
    started_on: date | None, met_on: date | None, calendar: WorkingCalendar | None
) -> int | None:
    """Working days from the day a clock counts from to the day it was met (0: the same day, or
    met before its first working day)."""
    if calendar is None or started_on is None or met_on is None:
        return None
    return max(0, calendar.working_days_between(started_on, met_on))


def clock_row(clock: Clock, channel: str, calendar: WorkingCalendar | None = None) -> ClockRow:
    original = clock.original_due
    return ClockRow(
        clock=clock.id,
        key=clock.key.value,
        item=clock.item,
        channel=channel,
        due=clock.due,
        due_day=clock.due_day,
        due_month=f"{clock.due_day:%Y-%m}",
        # the due day before any extension: the due moment's own day where the workflow kept no
        # other (a clock never extended has the same due day)
        original_due_day=clock.due_day if original == clock.due else original.date(),
        extensions=clock.extensions,
        extended_by_working_days=clock.extended_by_working_days,
        exceptional_extension=clock.exceptional_extension,
        started_on=clock.started_on,
        met_at=clock.met_at,
        met_on=clock.met_on,
        breached_at=clock.breached_at,
        outcome=outcome(clock),
        working_days_taken=working_days_taken(clock.started_on, clock.met_on, calendar),
    )


def clock_rows(snapshot: CaseSnapshot, calendar: WorkingCalendar | None = None) -> list[ClockRow]:
    return rows_from_data(snapshot.data, snapshot.channel, calendar)


def rows_from_data(
    data: dict[str, Any], channel: str, calendar: WorkingCalendar | None = None
) -> list[ClockRow]:
    """The rows of the clocks a case's recorded `data` holds (a record without clocks: none)."""
    return [clock_row(Clock.model_validate(c), channel, calendar) for c in data.get("clocks") or []]


FILL_BATCH = 5000


def fill_working_days(engine: Engine, calendar: WorkingCalendar) -> int:
    """Count the working days taken of each met clock that has none yet (the rows a migration
    made, or a store without a calendar wrote): at every start, so it is cheap when none are."""
    table = CaseClock.__table__
    missing = (
        select(table.c.id, table.c.started_on, table.c.met_on)
        .where(
            table.c.working_days_taken.is_(None),
            table.c.started_on.is_not(None),
            table.c.met_on.is_not(None),
        )
        .limit(FILL_BATCH)
    )
    filled = 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(missing).all()
            if not rows:
                return filled
            connection.execute(
                update(table).where(table.c.id == bindparam("row_id")),
                [
                    {
                        "row_id": row.id,
                        "working_days_taken": working_days_taken(
                            row.started_on, row.met_on, calendar
                        ),
                    }
                    for row in rows
                ],
            )
            filled += len(rows)
