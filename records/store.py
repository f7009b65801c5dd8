"""The records store: the only code that reads and writes the records database.

Writes are idempotent so activities can be retried freely:
- `record` upserts a case from its workflow's snapshot (never rolling it back to an older one)
  and appends timeline entries once each, keyed by (reference, seq);
- `claim_letter` / `mark_letter_sent` keep the letters ledger keyed by (reference, letter key).

SQLite (the default, a file) and PostgreSQL (production) are both supported with portable SQL.
On SQLite every write transaction starts with BEGIN IMMEDIATE, so writers queue on the busy
timeout instead of failing when a read lock cannot be upgraded; on PostgreSQL rows are locked
with SELECT ... FOR UPDATE and a lost insert race is retried once.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TypeVar

from alembic import command
from alembic.config import Config
from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    create_engine,
    event,
    func,
    literal,
    or_,
    select,
    union,
    union_all,
)
from sqlalchemy import text as sql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

import records.annual_reports
import records.evidence
import records.self_assessment  # noqa: F401
from domain.letters import Delivery, LetterKind, LetterRequest
from domain.records import (
    ActionRow,
    CaseSnapshot,
    ClockRow,
    CompensationOfferRow,
    CompensationPaymentRow,
    OmbudsmanOrderRow,
    OmbudsmanRequestRow,
    OmbudsmanRow,
    PointOutcomeRow,
    RecordRequest,
    TimelineEntry,
    apply_json_changes,
)
from domain.sweep import SweepReport
from domain.urgency import CLOSED_STAGE, queue_due
from domain.working_days import WorkingCalendar
from records.clocks import CaseClock, clock_rows, fill_working_days
from records.outcomes import CasePointOutcome
from records.schema import (
    LETTER_CLAIMED,
    LETTER_SENT,
    Base,
    Case,
    CaseEvent,
    CaseSearchWord,
    Letter,
    StaffAccount,
    SweepReportRow,
    postcode_key,
    utc,
)
from records.tracking import (
    CaseAction,
    CompensationOffer,
    CompensationPayment,
    OmbudsmanCase,
    OmbudsmanOrder,
    OmbudsmanRequest,
    Tracking,
)

if TYPE_CHECKING:
    from config import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_SECONDS = 30  # the worker's activities may wait: nobody is kept waiting
# The web app waits far less: a locked or unreachable database answers 503 within 2 seconds
# (admin/app.py) instead of holding the request, and a thread, for half a minute.
WEB_WAIT_SECONDS = 1.0
STATEMENT_TIMEOUT_FACTOR = 10  # PostgreSQL: a statement may run this many times `wait`
# Any constant will do: it only has to be the same in every process that migrates.
_MIGRATION_LOCK_ID = 7_311_001

WRITES = "records_write"  # execution option: this connection's transaction will write
T = TypeVar("T")


class CaseRows(NamedTuple):
    """A table of a case's child rows, which a snapshot field holds whole: `keys` are the columns
    that, with the reference, pick out one row (the table's unique constraint)."""

    model: type[Base]
    field: str  # the CaseSnapshot field: a list of `row`, or (ombudsman) one or None
    row: type[BaseModel]
    keys: tuple[str, ...]
    # rows made from the snapshot otherwise than from a field of it (the clocks, from its data)
    make: Callable[[CaseSnapshot, WorkingCalendar | None], list[Any]] | None = None
    # where in the snapshot (as JSON) `make` makes them from: a commit that changes none of
    # these leaves the table as it is
    sources: tuple[tuple[str, ...], ...] = ()

    def made_from(self) -> tuple[tuple[str, ...], ...]:
        return self.sources or ((self.field,),)

    def rows(
        self, snapshot: CaseSnapshot, calendar: WorkingCalendar | None = None
    ) -> list[BaseModel]:
        if self.make is not None:
            return self.make(snapshot, calendar)
        value = getattr(snapshot, self.field)
        if isinstance(value, list):
            return value
        return [] if value is None else [value]


POINT_OUTCOMES = CaseRows(
    CasePointOutcome, "point_outcomes", PointOutcomeRow, ("stage", "point_index")
)
TRACKING = (
    CaseRows(CaseAction, "actions", ActionRow, ("n",)),
    CaseRows(CompensationOffer, "compensation_offers", CompensationOfferRow, ("stage",)),
    CaseRows(CompensationPayment, "compensation_payments", CompensationPaymentRow, ("seq",)),
    CaseRows(OmbudsmanCase, "ombudsman", OmbudsmanRow, ()),  # zero or one
    CaseRows(OmbudsmanRequest, "ombudsman_requests", OmbudsmanRequestRow, ("n",)),
    CaseRows(OmbudsmanOrder, "ombudsman_orders", OmbudsmanOrderRow, ("n",)),
)
CLOCKS = CaseRows(
    CaseClock, "clocks", ClockRow, ("clock",), clock_rows, (("data", "clocks"), ("channel",))
)
SEARCH_WORDS = CaseRows(
    CaseSearchWord,
    "search_words",
    BaseModel,
    ("word",),
    lambda s, c: search_word_rows(s, c),
    (("resident_name",), ("received_at",)),
)
CASE_ROWS = (POINT_OUTCOMES, *TRACKING, CLOCKS, SEARCH_WORDS)


class LetterNotClaimed(LookupError):
    """A letter was marked sent without having been claimed first."""


class LetterRow(BaseModel):
    """One row of the letters ledger, as the letters activity and the admin UI see it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    reference: str
    letter_key: str
    kind: LetterKind
    delivery: Delivery
    recipient_role: str
    recipient: str
    subject: str
    body_html: str | None
    status: Literal["claimed", "sent"]
    provider_id: str | None
    location: str | None
    claimed_at: datetime
    sent_at: datetime | None
    attempts: int

    @property
    def sent(self) -> bool:
        return self.status == LETTER_SENT


def make_engine(database_url: str | URL, *, wait: float | None = None) -> Engine:
    """An engine for the records database. For SQLite: the file's folder is created, and every
    connection gets WAL, foreign keys and a busy timeout. SQL parameters (names, addresses,
    session ids) are never shown in errors (`hide_parameters`), so no traceback carries them.

    `wait`: seconds a statement may wait for a lock, or for a connection, before it fails with
    OperationalError (or TimeoutError, for the pool). None: the worker's patience (SQLite's busy
    timeout of SQLITE_BUSY_TIMEOUT_SECONDS; PostgreSQL's own defaults). With a number, PostgreSQL
    also gets connect_timeout, lock_timeout and a statement_timeout of
    STATEMENT_TIMEOUT_FACTOR times `wait`."""
    url = make_url(database_url)
    limits: dict[str, Any] = {} if wait is None else {"pool_timeout": wait + 1}
    if url.get_backend_name() != "sqlite":
        return _postgresql_engine(url, wait, limits)

    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    busy = SQLITE_BUSY_TIMEOUT_SECONDS if wait is None else wait
    if wait is not None:  # the web app: many threads at once; a SQLite connection costs little
        limits |= {"pool_size": 20, "max_overflow": 40}
    engine = create_engine(url, connect_args={"timeout": busy}, hide_parameters=True, **limits)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(WRITES, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine


def _postgresql_engine(url: URL, wait: float | None, limits: dict[str, Any]) -> Engine:
    if wait is None:
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    # libpq counts connect_timeout in whole seconds, and takes 1 as 2
    connect = {} if "connect_timeout" in url.query else {"connect_timeout": max(2, round(wait))}
    engine = create_engine(
        url, pool_pre_ping=True, hide_parameters=True, connect_args=connect, **limits
    )
    lock_ms, statement_ms = int(wait * 1000), int(wait * STATEMENT_TIMEOUT_FACTOR * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        cursor = dbapi_connection.cursor()
        cursor.execute(f"SET SESSION lock_timeout = {lock_ms}")
        cursor.execute(f"SET SESSION statement_timeout = {statement_ms}")
        cursor.close()
        dbapi_connection.autocommit = autocommit

    return engine


def alembic_config(connection: Any | None = None) -> Config:
    """Alembic configuration built in code, independent of the current directory. With a
    connection, migrations run on it (inside its transaction)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


# A queue page counts the cases before and after it only up to this many (RecordsStore.list_cases)
COUNT_UP_TO = 1000


class SortKey(NamedTuple):
    """One key of a list's order: a column or SQL expression on `Case`, and its direction.

    `parts`, for a first key of a few values each held by one range of the keys after it (the
    status column's colours are ranges of `queue_due`): (value, condition) for each, covering
    every case once. A page is then read part by part, each part from the index in the order of
    the other keys (a UNION ALL of index range reads, each stopped at a page), and no sort of
    the whole queue is needed."""

    expression: Any
    descending: bool = False
    parts: tuple[tuple[int, Any], ...] = ()


class CasePage(NamedTuple):
    """One page of a list of cases (RecordsStore.list_cases)."""

    cases: list[CaseSnapshot]
    keys: list[tuple[Any, ...]]  # each case's values of the order's keys: a cursor's contents
    more: bool  # there are cases beyond the page, in the direction it was read
    before: int | None  # cases before the page's first; None: more than COUNT_UP_TO
    remaining: int | None  # cases from the page's first to the end; None: more than COUNT_UP_TO


class RecordsStore:
    """`wait`: seconds a statement waits for a lock (or a connection) before failing (see
    make_engine); the default (None) suits the worker, `answering_within` makes the web app's."""

    def __init__(
        self,
        database_url: str | URL,
        *,
        wait: float | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> None:
        self.url = make_url(database_url)
        self.wait = wait
        # the landlord's working days, for each met clock's working days taken (reports); none:
        # not counted (records/clocks.py)
        self.calendar = calendar
        self.engine = make_engine(self.url, wait=wait)
        self._writer = self.engine.execution_options(**{WRITES: True})

    def answering_within(self, wait: float | None) -> RecordsStore:
        """The same database through an engine whose statements give up after `wait` seconds
        (this store itself for an in-memory SQLite database, which another engine cannot see)."""
        database = self.url.database or ""
        if wait == self.wait or (
            self.url.get_backend_name() == "sqlite" and database in ("", ":memory:")
        ):
            return self
        return RecordsStore(self.url, wait=wait, calendar=self.calendar)

    @property
    def writer(self) -> Engine:
        """The engine for write transactions (on SQLite they begin with BEGIN IMMEDIATE)."""
        return self._writer

    def reading(self) -> Session:
        """A session for reads, for the stores built on this one (accounts, the learning log)."""
        return Session(self.engine, expire_on_commit=False)

    def writing(self) -> Session:
        """A session for a write transaction: on SQLite it takes the write lock first (BEGIN
        IMMEDIATE), so it waits for another writer instead of failing when it upgrades."""
        return Session(self._writer, expire_on_commit=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordsStore:
        return cls(
            settings.database_url, calendar=WorkingCalendar.from_policy(settings.policy.calendar)
        )

    def dispose(self) -> None:
        """Close pooled connections (tests, shutdown)."""
        self.engine.dispose()

    # -- schema ---------------------------------------------------------------------------

    def migrate(self) -> None:
        """Bring the schema up to date (`alembic upgrade head`); safe to run at every start-up,
        from several processes at once."""
        with self._writer.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sql("SELECT pg_advisory_xact_lock(:id)"), {"id": _MIGRATION_LOCK_ID}
                )
            command.upgrade(alembic_config(connection), "head")
        if self.calendar is not None:
            fill_working_days(self._writer, self.calendar)

    # -- cases ----------------------------------------------------------------------------

    def record(self, request: RecordRequest) -> None:
        """Upsert the case and append its new timeline entries, in one transaction."""
        self._write(lambda session: self._record(session, request))

    def get_case(self, reference: str) -> CaseSnapshot | None:
        with Session(self.engine) as session:
            row = session.get(Case, reference)
            return None if row is None else _snapshot(row)

    def point_outcomes(self, reference: str) -> list[PointOutcomeRow]:
        """The case's points as decided at each stage, with their root causes, in order."""
        with Session(self.engine) as session:
            return _read_rows(session, POINT_OUTCOMES, reference)

    def tracking(self, reference: str) -> Tracking:
        """What the case led to, as its rows stand: actions, compensation offered and paid, the
        Ombudsman's case, requests and orders (all empty for an unknown case)."""
        with Session(self.engine) as session:
            found = {table.field: _read_rows(session, table, reference) for table in TRACKING}
        ombudsman = found.pop("ombudsman")
        return Tracking(**found, ombudsman=ombudsman[0] if ombudsman else None)

    def clocks(self, reference: str) -> list[ClockRow]:
        """The case's clocks as reports count them (`case_clocks`), in order of their ids."""
        with Session(self.engine) as session:
            return _read_rows(session, CLOCKS, reference)

    def events(self, reference: str) -> list[TimelineEntry]:
        query = select(CaseEvent).where(CaseEvent.reference == reference).order_by(CaseEvent.seq)
        with Session(self.engine) as session:
            return [_entry(row) for row in session.scalars(query)]

    def latest_events(self, reference: str, latest: int) -> tuple[list[TimelineEntry], int]:
        """The case's latest `latest` timeline entries, oldest first, and how many came before."""
        query = (
            select(CaseEvent)
            .where(CaseEvent.reference == reference)
            .order_by(CaseEvent.seq.desc())
            .limit(latest)
        )
        with Session(self.engine) as session:
            rows = list(session.scalars(query))
            every = len(rows)
            if every == latest:  # there may be more
                counted = select(func.count()).where(CaseEvent.reference == reference)
                every = session.scalar(counted) or 0
        return [_entry(row) for row in reversed(rows)], every - len(rows)

    def revision(self, reference: str) -> int:
        """The revision of the case's record (0: none yet): one indexed column, to wait on."""
        query = select(Case.revision).where(Case.reference == reference)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar() or 0

    def search_cases(self, text: str, limit: int = 50) -> list[CaseSnapshot]:
        """Cases whose reference starts with `text`, whose resident's name has words starting
        with each word of it ("ann exa" finds Ann Example), or whose postcode starts with it
        (ignoring case and spaces); newest first (received_at, then reference, descending).
        Blank text lists the newest cases.

        Each test is its own query for its `limit` newest cases, read from an index (the
        reference's key, `postcode_key`, `case_search_words`), and only the cases of their
        answers are read from `cases`: never a scan of every case's name, nor every case a
        common name matches (_search_statement)."""
        text = text.strip()
        key = postcode_key(text) if text else None
        words = search_words(text) if text else []
        values: dict[str, str] = {}
        if text:
            values |= _prefix_values("reference", text.upper())
        if key:
            values |= _prefix_values("postcode", key)
        if words:  # the longest typed word leads (_search_statement), then the others
            first = max(words, key=len)
            for n, word in enumerate([first, *(w for w in words if w != first)]):
                values |= {f"word{n}": word, f"word{n}_past": _past(word)}
        query = _search_statement(limit, bool(text), bool(key), len(words))
        with Session(self.engine) as session:
            return [_snapshot(row) for row in session.scalars(query, values)]

    # -- letters ledger ---------------------------------------------------------------------

    def claim_letter(self, request: LetterRequest, recipient: str, subject: str) -> LetterRow:
        """Claim the letter (reference, key) before sending it. The first claim inserts the row;
        every later one counts an attempt and returns the same row, so the caller can see
        whether it was already sent. While unsent, the row takes the latest recipient and
        subject."""
        return self._write(lambda session: self._claim(session, request, recipient, subject))

    def mark_letter_sent(
        self,
        reference: str,
        letter_key: str,
        *,
        body_html: str,
        provider_id: str | None,
        location: str | None,
        sent_at: datetime,
    ) -> None:
        """Record that a claimed letter went out. Marking it again keeps the first sending."""

        def mark(session: Session) -> None:
            row = _letter_for_update(session, reference, letter_key)
            if row is None:
                raise LetterNotClaimed(
                    f"Letter {letter_key!r} for case {reference} was never claimed; "
                    "claim it before sending it."
                )
            if row.status == LETTER_SENT:
                return
            row.status = LETTER_SENT
            row.body_html = body_html
            row.provider_id = provider_id
            row.location = location
            row.sent_at = utc(sent_at)

        self._write(mark)

    def get_letter(self, reference: str, letter_key: str) -> LetterRow | None:
        query = select(Letter).where(Letter.reference == reference, Letter.letter_key == letter_key)
        with Session(self.engine) as session:
            row = session.scalars(query).one_or_none()
            return None if row is None else LetterRow.model_validate(row)

    def letters(self, reference: str) -> list[LetterRow]:
        query = (
            select(Letter)
            .where(Letter.reference == reference)
            .order_by(Letter.claimed_at, Letter.id)
        )
        with Session(self.engine) as session:
            return [LetterRow.model_validate(row) for row in session.scalars(query)]

    # -- internals ------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with (
            _one_writer_at_a_time(self.url, self.wait),
            Session(self._writer, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    def _write(self, work: Callable[[Session], T]) -> T:
        """Run `work` in one write transaction; if it lost an insert race to another writer
        (a unique constraint failed), run it once more, when it will find the other's row."""
        try:
            with self._transaction() as session:
                return work(session)
        except IntegrityError:
            with self._transaction() as session:
                return work(session)

    def _record(self, session: Session, request: RecordRequest) -> None:
        reference = request.case_reference
        row = session.scalars(
            select(Case).where(Case.reference == reference).with_for_update()
        ).one_or_none()
        whole = _whole(request, row)
        if whole is None:
            pass  # this revision, or a later one, is recorded already: only its events may be new
        elif row is None:
            session.add(Case(**_case_values(whole), created_at=datetime.now(UTC)))
            session.flush()
            _sync_case_rows(session, whole, self.calendar, new=True)
        elif _newer(whole, row):
            for name, value in _case_values(whole).items():
                setattr(row, name, value)
            _sync_case_rows(session, whole, self.calendar, unchanged_rows(request))

        if not request.events:
            return
        stored = set(session.scalars(select(CaseEvent.seq).where(CaseEvent.reference == reference)))
        now = datetime.now(UTC)
        for entry in request.events:
            if entry.seq in stored:
                continue
            stored.add(entry.seq)
            data = entry.model_dump(mode="json", include={"details"})
            session.add(
                CaseEvent(
                    reference=reference,
                    seq=entry.seq,
                    at=utc(entry.at),
                    step=entry.step,
                    actor=entry.actor,
                    summary=entry.summary,
                    details=data["details"],
                    recorded_at=now,
                )
            )

    @staticmethod
    def _claim(session: Session, request: LetterRequest, recipient: str, subject: str) -> LetterRow:
        row = _letter_for_update(session, request.reference, request.key)
        if row is None:
            row = Letter(
                reference=request.reference,
                letter_key=request.key,
                status=LETTER_CLAIMED,
                claimed_at=datetime.now(UTC),
                attempts=1,
            )
            session.add(row)
        else:
            row.attempts += 1
        if row.status == LETTER_CLAIMED:
            row.kind = request.kind.value
            row.delivery = request.delivery.value
            row.recipient_role = request.recipient.role
            row.recipient = recipient
            row.subject = subject
        session.flush()
        return LetterRow.model_validate(row)

    # -- lists for the admin UI -------------------------------------------------------------

    def list_cases(
        self,
        where: Sequence[Any],
        order: Sequence[SortKey],
        *,
        after: Sequence[Any] | None = None,
        before: Sequence[Any] | None = None,
        last: bool = False,
        offset: int = 0,
        limit: int = 25,
        count_up_to: int | None = None,
    ) -> CasePage:
        """One page of the cases meeting every condition in `where` (SQLAlchemy conditions on
        `records.schema.Case`) in `order`, read by keyset in ONE statement:

        - the first `limit` cases after the case whose sort keys are `after` (from the start when
          it is None; `offset` skips that many more, for callers that still send page numbers);
        - with `before`, the last `limit` cases before the case whose sort keys those are;
        - with `last`, the last `limit` cases.

        The last key of `order` must be unique (the reference), so "after" and "before" are
        exact and a page never repeats or skips a case, whatever changed since the keys were read.
        When the first key has parts (SortKey.parts), each part is read from its own index range
        and their pages merged: still one statement. Beside the page the statement counts the
        cases before it and those from its first to the end, each only up to `count_up_to` (an
        index range read from the page's edge, stopped there), so a page costs the same at any
        size of queue; None is "more than that"."""
        if count_up_to is None:
            count_up_to = COUNT_UP_TO
        backward = before is not None or last
        edge = before if backward else after
        # the page's side of its edge, and the other side (none at the start; for the last
        # page, everything is on the page's side)
        page = _sides(order, edge, after=not backward)
        other = [] if edge is None else _sides(order, edge, after=backward, inclusive=True)
        counts: dict[str, Any] = {}
        if backward:
            counts["below"] = _count_up_to(where, page, count_up_to)
            if edge is not None:
                counts["above"] = _count_up_to(where, other, count_up_to)
        else:
            counts["above"] = _count_up_to(where, page, count_up_to, offset=offset)
            if edge is not None:
                counts["below"] = _count_up_to(where, other, count_up_to)
        skip = None if backward or not offset else offset
        if not order[0].parts:
            query = (
                select(
                    Case,
                    *(count.label(name) for name, count in counts.items()),
                    *(key.expression.label(f"key_{n}") for n, key in enumerate(order)),
                )
                .where(*where, *page[0][1])
                .order_by(*_sort(order, reverse=backward))
                .offset(skip)
                .limit(limit + 1)
            )
        else:
            # each part read in the order of the keys after the first, up to the page (and any
            # offset), its value as the first key; the parts' pages merged in the whole order
            rest = order[1:]
            reads = [
                select(
                    Case,
                    literal(value).label("key_0"),
                    *(key.expression.label(f"key_{n}") for n, key in enumerate(rest, 1)),
                )
                .where(*where, *conditions)
                .order_by(*_sort(rest, reverse=backward))
                .limit(limit + 1 + (skip or 0))
                for value, conditions in page
            ]
            pages = union_all(*map(_read, reads)).subquery()
            merged = aliased(Case, pages)
            keys = [pages.c[f"key_{n}"] for n in range(len(order))]
            query = (
                select(merged, *(count.label(name) for name, count in counts.items()), *keys)
                .order_by(
                    *_sort(
                        [
                            k._replace(expression=c, parts=())
                            for k, c in zip(order, keys, strict=True)
                        ],
                        reverse=backward,
                    )
                )
                .offset(skip)
                .limit(limit + 1)
            )
        with Session(self.engine) as session:
            found = list(session.execute(query))
        more = len(found) > limit
        found = found[:limit]
        if backward:
            found.reverse()
        below = found[0].below if found and "below" in counts else 0
        above = found[0].above if found and "above" in counts else 0

        def upto(n: int) -> int | None:
            return n if n <= count_up_to else None

        if backward:  # `below` counted the page too; `above` did not
            before_page = None if upto(below) is None else below - len(found)
            from_page = None if upto(above) is None else above + len(found)
        else:
            before_page = None if upto(below) is None else below + offset
            from_page = upto(above)
        if not found and edge is not None:
            before_page = None  # nothing on the page to count from
        width = len(order)  # each row ends with its sort keys
        return CasePage(
            cases=[_snapshot(row[0]) for row in found],
            keys=[tuple(row[len(row) - width :]) for row in found],
            more=more,
            before=before_page,
            remaining=from_page,
        )

    # -- the daily sweep's reports ----------------------------------------------------------

    def save_sweep_report(self, report: SweepReport) -> None:
        """Keep the day's report: one row per day, so a re-run the same day replaces the report
        (and keeps the record of who has already been emailed it)."""

        def save(session: Session) -> None:
            now = datetime.now(UTC)
            values = {
                "overdue_count": report.overdue.total,
                "at_risk_count": report.at_risk.total,
                "letters_failing_count": report.letters_failing.total,
                "report": report.model_dump(mode="json"),
                "updated_at": now,
            }
            row = session.scalars(
                select(SweepReportRow).where(SweepReportRow.day == report.day).with_for_update()
            ).one_or_none()
            if row is None:
                session.add(SweepReportRow(day=report.day, emailed={}, created_at=now, **values))
            else:
                for name, value in values.items():
                    setattr(row, name, value)

        self._write(save)

    def sweep_report(self, day: date) -> SweepReport | None:
        with Session(self.engine) as session:
            row = session.get(SweepReportRow, day)
            return None if row is None else SweepReport.model_validate(row.report)

    def active_staff(self, role: str) -> list[tuple[str, str, str]]:
        """(id, name, email) of each active account with `role`, by name."""
        query = (
            select(StaffAccount.id, StaffAccount.name, StaffAccount.email)
            .where(StaffAccount.active.is_(True), StaffAccount.role == role)
            .order_by(StaffAccount.name)
        )
        with Session(self.engine) as session:
            return [(row.id, row.name, row.email) for row in session.execute(query)]

    def latest_sweep_reports(self, n: int = 10) -> list[SweepReport]:
        """The newest `n` reports, newest first."""
        query = select(SweepReportRow).order_by(SweepReportRow.day.desc()).limit(n)
        with Session(self.engine) as session:
            return [SweepReport.model_validate(row.report) for row in session.scalars(query)]

    def sweep_emailed(self, day: date) -> dict[str, Any]:
        """Who has been sent the day's report: recipient id -> {letter_key, sent_at, ...}."""
        with Session(self.engine) as session:
            row = session.get(SweepReportRow, day)
            return {} if row is None else dict(row.emailed or {})

    def mark_sweep_emailed(self, day: date, recipient_id: str, sent: dict[str, Any]) -> None:
        """Record that the day's report went to `recipient_id`; the first sending stands."""

        def mark(session: Session) -> None:
            row = session.scalars(
                select(SweepReportRow).where(SweepReportRow.day == day).with_for_update()
            ).one_or_none()
            if row is None:
                raise LookupError(f"No sweep report for {day:%d %B %Y}; save it before sending.")
            emailed = dict(row.emailed or {})
            if recipient_id not in emailed:
                emailed[recipient_id] = sent
                row.emailed = emailed  # a new dict, so the JSON column is seen to change

        self._write(mark)


def _letter_for_update(session: Session, reference: str, letter_key: str) -> Letter | None:
    query = (
        select(Letter)
        .where(Letter.reference == reference, Letter.letter_key == letter_key)
        .with_for_update()
    )
    return session.scalars(query).one_or_none()


class RecordOutOfStep(Exception):
    """Changes to a record that is not at the revision they follow (the row was written by
    code before revisions, or restored from a backup): the case must send its whole record."""


def _whole(request: RecordRequest, row: Case | None) -> CaseSnapshot | None:
    """The request's snapshot: as sent, or the row's with the changes made. None when the row
    already shows this revision or a later one (a retried or superseded request)."""
    stored = row.revision if row is not None else None
    snapshot = request.snapshot
    if snapshot is not None:
        if snapshot.revision is not None and stored is not None and stored > snapshot.revision:
            return None
        return snapshot
    assert request.revision is not None and request.changes is not None  # the model's rule
    if stored is not None and stored >= request.revision:
        return None
    if row is None or stored != request.revision - 1:
        raise RecordOutOfStep(
            f"{request.reference}: changes for revision {request.revision}, "
            f"the row shows {stored if row is not None else 'nothing'}"
        )
    # the child-row fields are not read back: a change to one comes whole, and the tables of
    # those not changed are left alone (`unchanged_rows`)
    before = _snapshot(row).model_dump(mode="json")
    return CaseSnapshot.model_validate(apply_json_changes(before, request.changes, in_place=True))


def unchanged_rows(request: RecordRequest) -> frozenset[str]:
    """The tables of child rows (by CaseRows.field) a request leaves as they are: none, for a
    whole snapshot; for changes, each table made from nothing they change (most commits change
    neither the clocks nor the name, nor any list of what a complaint led to)."""
    if request.changes is None:
        return frozenset()
    paths = {tuple(c.path[:_SOURCE_DEPTH]) for c in request.changes}  # that deep is enough
    return frozenset(
        table.field
        for table in CASE_ROWS
        if not any(_overlap(path, source) for path in paths for source in table.made_from())
    )


_SOURCE_DEPTH = max(len(source) for table in CASE_ROWS for source in table.made_from())


def _overlap(path: Sequence[str | int], source: Sequence[str | int]) -> bool:
    """Whether a change at `path` may change what is at `source` (one holds the other)."""
    n = min(len(path), len(source))
    return list(path[:n]) == list(source[:n])


def _newer(snapshot: CaseSnapshot, row: Case) -> bool:
    """Whether the snapshot replaces the row: a later revision, or (rows and requests from
    before revisions) a later or equal time."""
    if snapshot.revision is not None and row.revision is not None:
        return snapshot.revision >= row.revision
    return utc(snapshot.updated_at) >= row.updated_at


def _case_values(snapshot: CaseSnapshot) -> dict[str, Any]:
    """Column values for a snapshot; JSON fields as plain JSON (dates become ISO strings)."""
    as_json = snapshot.model_dump(mode="json", include={"data", "linked_references"})
    return {
        "reference": snapshot.reference,
        "kind": snapshot.kind,
        "workflow_id": snapshot.workflow_id,
        "stage": snapshot.stage,
        "status": snapshot.status,
        "owner_id": snapshot.owner_id,
        "resident_name": snapshot.resident_name,
        "postcode": snapshot.postcode,
        "postcode_key": postcode_key(snapshot.postcode),
        "channel": snapshot.channel,
        "received_at": utc(snapshot.received_at),
        "next_deadline": _utc_or_none(snapshot.next_deadline),
        "next_deadline_label": snapshot.next_deadline_label,
        "next_deadline_key": snapshot.next_deadline_key,
        "overdue": snapshot.overdue,
        "closure_reason": snapshot.closure_reason,
        "closed_at": _utc_or_none(snapshot.closed_at),
        "linked_references": as_json["linked_references"],
        "category": snapshot.category,
        "tenure": snapshot.tenure,
        "property_reference": snapshot.property_reference,
        "actions_outstanding": snapshot.actions_outstanding,
        "revision": snapshot.revision,
        "data": as_json["data"],
        "updated_at": utc(snapshot.updated_at),
        **queue_columns(
            snapshot.stage, snapshot.status, snapshot.next_deadline, snapshot.next_deadline_key
        ),
    }


def queue_columns(
    stage: str, status: str, next_deadline: datetime | None, next_deadline_key: str | None
) -> dict[str, Any]:
    """`in_queue` and `queue_due` (records/schema.py Case): where the work queues find the case."""
    due = _utc_or_none(next_deadline)
    return {
        "in_queue": stage != CLOSED_STAGE or due is not None,
        "queue_due": queue_due(stage, status, due, next_deadline_key),
    }


# SQLite lets one transaction write at a time; one that finds the lock taken sleeps and tries again
# (the busy timeout), for longer each time, so with a worker's 16 activity threads writing, the
# lock stood free while they slept. In one process they queue on this lock instead, and each takes
# the database's the moment the one before lets it go (other processes still wait as before).
_SQLITE_WRITERS: dict[str, threading.RLock] = {}
_SQLITE_WRITERS_GUARD = threading.Lock()


@contextmanager
def _one_writer_at_a_time(url: URL, wait: float | None) -> Iterator[None]:
    if url.get_backend_name() != "sqlite":
        yield
        return
    with _SQLITE_WRITERS_GUARD:
        lock = _SQLITE_WRITERS.setdefault(url.database or "", threading.RLock())
    # after the busy timeout, go on without it: SQLite's own wait then decides, as before
    held = lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_SECONDS if wait is None else wait)
    try:
        yield
    finally:
        if held:
            lock.release()


def search_words(name: str | None) -> list[str]:
    """The words search finds a name by: lower case, split at anything not a letter or digit
    ("O'Brien-Smith" -> "o", "brien", "smith"), each once."""
    return sorted({w for w in re.split(r"[^\w]+", (name or "").lower()) if w})[:20]


def search_word_rows(snapshot: CaseSnapshot, calendar: WorkingCalendar | None) -> list[Any]:
    received = utc(snapshot.received_at)
    return [
        SearchWordRow(word=w[:200], received_at=received)
        for w in search_words(snapshot.resident_name)
    ]


class SearchWordRow(BaseModel):
    word: str
    received_at: datetime  # the case's: search reads a word's cases newest first


# search's order, newest first: what `ix_cases_received_at` and `ix_case_search_words_recent`
# give read backwards
_NEWEST = (Case.received_at.desc(), Case.reference.desc())


@functools.lru_cache(maxsize=256)
def _search_statement(limit: int, text: bool, key: bool, words: int) -> Any:
    """RecordsStore.search_cases's statement for a text of this shape (with a postcode key or
    not, and how many words), built once: its values are bound parameters (_prefix_values,
    "word0" the longest typed word, "word1"... the others, each with its "_past").

    The name's test starts from the longest typed word (likely the fewest cases): the cases
    with it as a whole word are read from `ix_case_search_words_recent` newest first, stopping
    at `limit` ("okoro", however many share it); those with a longer word starting with it are
    a range of the index, sorted (few, as a rule). Each other typed word is looked up among the
    case's own words (the primary key), or, if the database finds it has fewer cases, the other
    way round. Words compare byte by byte (records/schema.py CaseSearchWord), so a word's
    prefix is exactly an index range, with no LIKE beside it to spoil the planner's estimate of
    its rows (one counted the prefix twice: ~400 rows for 10,000, and a plan that read every
    case with one word to find the newest with two)."""
    if not text:
        return select(Case).order_by(*_NEWEST).limit(limit)
    found = [_newest(Case, limit, _starts_with(Case.reference, "reference"))]
    if key:
        found.append(_newest(Case, limit, _starts_with(Case.postcode_key, "postcode")))
    if words:
        whole, longer = aliased(CaseSearchWord), aliased(CaseSearchWord)
        found += [
            _newest(whole, limit, whole.word == bindparam("word0"), *_also(whole, words)),
            _newest(
                longer,
                limit,
                longer.word > bindparam("word0"),
                longer.word < bindparam("word0_past"),
                *_also(longer, words),
                distinct=True,  # a case may have several words starting with the first
            ),
        ]
    # the page: the newest of what the tests found (each case once), and then only its cases
    # read from `cases`, by their references. Its order is the page's own columns, which no
    # index of `cases` gives, so no plan walks `cases` newest first looking for them (as a
    # generic plan of `reference IN (...) ORDER BY cases.received_at` did: 200-300 ms).
    every = union(*found).subquery()
    page = select(every).order_by(*_newest_first(every.c)).limit(limit).subquery()
    return (
        select(Case).join(page, Case.reference == page.c.reference).order_by(*_newest_first(page.c))
    )


def _newest_first(rows: Any) -> tuple[Any, Any]:
    return rows.received_at.desc(), rows.reference.desc()


def _newest(rows: Any, limit: int, *where: Any, distinct: bool = False) -> Any:
    """The (reference, received_at) of the `limit` newest of `rows` (`Case`, or an alias of
    `CaseSearchWord`) that meet `where`."""
    query = select(rows.reference, rows.received_at).where(*where)
    if distinct:
        query = query.distinct()
    found = query.order_by(*_newest_first(rows)).limit(limit).subquery()
    return select(found.c.reference, found.c.received_at)


def _also(word: Any, words: int) -> list[Any]:
    """The case of the row `word` has words starting with each typed word but the first."""
    out = []
    for n in range(1, words):
        its = aliased(CaseSearchWord)
        out.append(
            select(its.reference)
            .where(
                its.reference == word.reference,
                its.word >= bindparam(f"word{n}"),
                its.word < bindparam(f"word{n}_past"),
            )
            .exists()
        )
    return out


def _past(prefix: str) -> str:
    """The first text past every text starting with `prefix` (byte by byte)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _sync_case_rows(
    session: Session,
    snapshot: CaseSnapshot,
    calendar: WorkingCalendar | None,
    leave: frozenset[str] = frozenset(),
    *,
    new: bool = False,
) -> None:
    """Make each table of the case's child rows say what the snapshot says (but those of the
    fields in `leave`, which it does not carry). `new`: the case's row has just been inserted,
    so it has no child rows yet (each table's foreign key to `cases` says so): none is read."""
    for table in CASE_ROWS:
        if table.field in leave:
            continue
        rows = table.rows(snapshot, calendar)
        _sync_rows(session, table.model, snapshot.reference, rows, table.keys, new=new)


def _sync_rows(
    session: Session,
    model: type[Base],
    reference: str,
    rows: Sequence[BaseModel],
    keys: tuple[str, ...],
    *,
    new: bool = False,
) -> None:
    """Make the case's rows of `model` say what `rows` say, matching them on the `keys` columns:
    a row not stored is inserted, a stored row not in `rows` deleted, and only the columns that
    differ are updated (most snapshots change none). `new`: none is stored (not read)."""
    column = model.__table__.c
    stored = (
        {}
        if new
        else {
            tuple(getattr(row, key) for key in keys): row
            for row in session.scalars(select(model).where(column.reference == reference))
        }
    )
    for item in rows:
        values = item.model_dump()
        row = stored.pop(tuple(values[key] for key in keys), None)
        if row is None:
            session.add(model(reference=reference, **values))
            continue
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
    for row in stored.values():
        session.delete(row)


def _read_rows(session: Session, table: CaseRows, reference: str) -> list[BaseModel]:
    """The case's rows of `table` as its pydantic rows, in order of their keys."""
    column = table.model.__table__.c
    query = (
        select(table.model)
        .where(column.reference == reference)
        .order_by(*(column[key] for key in table.keys))
    )
    names = list(table.row.model_fields)
    return [
        table.row.model_validate({name: getattr(row, name) for name in names})
        for row in session.scalars(query)
    ]


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else utc(value)


def _snapshot(row: Case) -> CaseSnapshot:
    return CaseSnapshot(
        reference=row.reference,
        kind=row.kind,
        workflow_id=row.workflow_id,
        stage=row.stage,
        status=row.status,
        owner_id=row.owner_id,
        resident_name=row.resident_name,
        postcode=row.postcode,
        channel=row.channel,
        received_at=row.received_at,
        next_deadline=row.next_deadline,
        next_deadline_label=row.next_deadline_label,
        next_deadline_key=row.next_deadline_key,
        overdue=row.overdue,
        closure_reason=row.closure_reason,
        closed_at=row.closed_at,
        linked_references=list(row.linked_references or []),
        category=row.category,
        tenure=row.tenure,
        property_reference=row.property_reference,
        actions_outstanding=row.actions_outstanding,
        data=dict(row.data or {}),
        updated_at=row.updated_at,
        revision=row.revision,
    )


def _entry(row: CaseEvent) -> TimelineEntry:
    return TimelineEntry(
        seq=row.seq,
        at=row.at,
        step=row.step,
        actor=row.actor,
        summary=row.summary,
        details=dict(row.details or {}),
    )


def migrate(database_url: str) -> None:
    """`alembic upgrade head` on the records database at `database_url`."""
    store = RecordsStore(database_url)
    try:
        store.migrate()
    finally:
        store.dispose()


def _starts_with(column: Any, name: str) -> Any:
    """`column` starts with the prefix bound as `name` (_prefix_values): a range the index
    answers (LIKE 'x%' uses no index in SQLite, nor in PostgreSQL under most collations), and
    the LIKE itself to be exact under any collation."""
    return and_(
        column >= bindparam(name),
        column < bindparam(f"{name}_past"),
        column.like(bindparam(f"{name}_like"), escape="/"),
    )


def _prefix_values(name: str, prefix: str) -> dict[str, str]:
    """The values of _starts_with's parameters for `prefix`: the range's ends (the upper one
    `prefix` with its last character moved on by one) and the LIKE's pattern, its wildcards
    escaped."""
    escaped = prefix.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return {name: prefix, f"{name}_past": _past(prefix), f"{name}_like": escaped + "%"}


def _sort(order: Sequence[SortKey], *, reverse: bool = False) -> list[Any]:
    """ORDER BY for `order`, or for its reverse (a page read backwards from its end)."""
    return [
        key.expression.desc() if key.descending != reverse else key.expression.asc()
        for key in order
    ]


def _keyset(
    order: Sequence[SortKey], values: Sequence[Any], *, after: bool, inclusive: bool = False
) -> Any:
    """The cases after (or before) the one whose keys in `order` are `values`, that one too
    when `inclusive`. Written out key by key (k1 > v1 OR (k1 = v1 AND k2 > v2) ...) so keys may
    run in different directions, with the first key's bound (k1 >= v1) on its own as well, the
    range an index on the keys reads from."""
    if len(values) != len(order):
        raise ValueError(f"{len(order)} sort keys, {len(values)} values")

    def beyond(key: SortKey, value: Any) -> Any:
        forwards = after != key.descending
        return key.expression > value if forwards else key.expression < value

    terms = []
    for n, (key, value) in enumerate(zip(order, values, strict=True)):
        same = [k.expression == v for k, v in zip(order[:n], values[:n], strict=True)]
        terms.append(and_(*same, beyond(key, value)))
    if inclusive:
        terms.append(and_(*(k.expression == v for k, v in zip(order, values, strict=True))))
    first, value = order[0], values[0]
    bound = first.expression >= value if after != first.descending else first.expression <= value
    return and_(bound, or_(*terms))


def _count_up_to(
    where: Sequence[Any], sides: Sequence[tuple[Any, list[Any]]], up_to: int, offset: int = 0
) -> Any:
    """How many cases meet `where` and one of `sides` (see _sides), counted only up to `up_to`
    + 1: a scalar subquery that stops there, so it reads at most that many of the cases each
    part's index range holds from the page's edge on. Not ordered: a count needs no order, and
    asking for one makes PostgreSQL, which cannot estimate how many cases a queue's urgency rule
    keeps, sort the whole range first (the overdue queue: 18,000 rows read for a count of
    1,001), and makes SQLite sort where no index gives the order."""
    reads = [
        select(literal(1).label("one"))
        .select_from(Case)
        .where(*where, *conditions)
        .limit(up_to + 1 + offset)
        for _, conditions in sides
    ]
    if not reads:
        return literal(0)
    found = reads[0] if len(reads) == 1 else select(union_all(*map(_read, reads)).subquery())
    found = found.offset(offset or None).limit(up_to + 1)
    return select(func.count()).select_from(found.subquery()).scalar_subquery()


def _read(query: Any) -> Any:
    """`query` as a part of a UNION ALL (SQLite takes a LIMIT there only in a subquery)."""
    return select(query.subquery())


def _sides(
    order: Sequence[SortKey],
    edge: Sequence[Any] | None,
    *,
    after: bool,
    inclusive: bool = False,
) -> list[tuple[Any, list[Any]]]:
    """The cases after (or before) `edge`, the sort keys of one case (none: all of them), as
    the conditions of each part to read, in the order they are read: one part, unless the
    order's first key has `parts`; then each part beyond the edge's value whole, and the parts
    of the edge's value (there may be several) from the edge on."""
    first = order[0]
    if not first.parts:
        return [
            (None, [] if edge is None else [_keyset(order, edge, after=after, inclusive=inclusive)])
        ]
    parts = sorted(first.parts, key=lambda part: part[0], reverse=first.descending != (not after))
    if edge is None:
        return [(value, [condition]) for value, condition in parts]
    if edge[0] not in {value for value, _ in parts}:
        raise ValueError(f"{edge[0]!r} is not one of the first key's parts")
    rest = _keyset(order[1:], edge[1:], after=after, inclusive=inclusive)
    beyond = False
    found = []
    for value, condition in parts:
        if value == edge[0]:
            found.append((value, [condition, rest]))
            beyond = True
        elif beyond:
            found.append((value, [condition]))
    return found
