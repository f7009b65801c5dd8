"""The records database: the projection of each case that lists, search and reports read, the
append-only log of what happened on it, and the ledger that makes every letter exactly-once.

Only the records activity writes cases and events; only the letters activity writes letters.
Every datetime is stored and returned timezone-aware in UTC, whatever the backend.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Deterministic constraint names, the same on SQLite and PostgreSQL, so migrations can name them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s_%(column_1_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

LETTER_CLAIMED = "claimed"
LETTER_SENT = "sent"


def utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def postcode_key(postcode: str | None) -> str | None:
    """A postcode as search compares it: upper case, no spaces ("tn13 1ax" -> "TN131AX")."""
    if postcode is None:
        return None
    key = "".join(postcode.split()).upper()
    return key or None


class UTCDateTime(TypeDecorator[datetime]):
    """`DateTime(timezone=True)` that always binds and returns aware UTC datetimes.

    SQLite keeps no time zone, so values are converted to UTC before they are written (which also
    keeps its text ordering correct) and marked as UTC when read back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's documented class attribute
        datetime: UTCDateTime(),
    }


class Case(Base):
    """One row per case, overwritten by each newer snapshot from the case's workflow."""

    __tablename__ = "cases"

    reference: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    workflow_id: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(60))
    owner_id: Mapped[str | None] = mapped_column(String(120), index=True)
    resident_name: Mapped[str] = mapped_column(String(200), index=True)
    postcode: Mapped[str | None] = mapped_column(String(16))
    postcode_key: Mapped[str | None] = mapped_column(String(16), index=True)
    channel: Mapped[str] = mapped_column(String(40))
    received_at: Mapped[datetime]
    next_deadline: Mapped[datetime | None] = mapped_column(index=True)
    next_deadline_label: Mapped[str | None] = mapped_column(String(200))
    next_deadline_key: Mapped[str | None] = mapped_column(String(40))  # migration 0010
    overdue: Mapped[bool] = mapped_column(Boolean, index=True, default=False)
    closure_reason: Mapped[str | None] = mapped_column(String(200))
    closed_at: Mapped[datetime | None]
    linked_references: Mapped[list[str]] = mapped_column(JSON)
    # What reports count a complaint under (migration 0007): a key of the case's policy's
    # `categories`, a domain.complaint.Tenure value, the property or tenancy reference. Each
    # point's decision and root cause are rows of `case_point_outcomes` (records/outcomes.py).
    category: Mapped[str | None] = mapped_column(String(60), index=True)
    tenure: Mapped[str | None] = mapped_column(String(40), index=True)
    property_reference: Mapped[str | None] = mapped_column(String(60), index=True)
    # Whether any action a response promised is not yet done (migration 0009; the actions are
    # rows of `case_actions`, records/tracking.py).
    actions_outstanding: Mapped[bool] = mapped_column(
        Boolean, index=True, default=False, server_default=false()
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # which commit of the case the row shows (migration 0021; domain.records.CaseSnapshot)
    revision: Mapped[int | None] = mapped_column(Integer)
    # What the work queues read (migration 0018): whether the case is in them (open, or closed
    # with something it promised still on a clock), and its place in the "due" order as one
    # indexed column (domain.urgency.queue_due). Each queue page is then one index range scan.
    in_queue: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    queue_due: Mapped[datetime]

    __table_args__ = (
        Index("ix_cases_queue", "in_queue", "queue_due", "reference"),
        Index("ix_cases_kind_queue", "kind", "in_queue", "queue_due", "reference"),
        Index("ix_cases_owner_queue", "owner_id", "in_queue", "queue_due", "reference"),
        # the queues sorted by reference, date received or stage, read in order (migration 0020)
        Index("ix_cases_queue_reference", "in_queue", "reference"),
        Index("ix_cases_queue_received", "in_queue", "received_at", "reference"),
        Index("ix_cases_queue_stage", "in_queue", "stage", "queue_due", "reference"),
        # search lists the newest first: read backwards until it has a page of matches
        Index("ix_cases_received_at", "received_at", "reference"),
    )


class CaseSearchWord(Base):
    """Each word of a case's resident's name, lower case (migration 0018), with the case's
    `received_at` (migration 0022): search by name reads `ix_case_search_words_recent` (word,
    received_at, reference), the cases with a word typed in full newest first, and stops at a
    page of them; the longer words that start with it are an index range scan. In both
    databases, never a scan of every case, and only the page's cases are read from `cases`."""

    __tablename__ = "case_search_words"

    reference: Mapped[str] = mapped_column(
        String(40), ForeignKey("cases.reference"), primary_key=True
    )
    # compared byte by byte in both databases (SQLite's BINARY; "C" on PostgreSQL, migration
    # 0022): a word starts with what was typed exactly when it is in the range the typed word
    # starts (records/store.py _search_statement), and PostgreSQL estimates that range well
    word: Mapped[str] = mapped_column(
        String(200).with_variant(String(200, collation="C"), "postgresql"), primary_key=True
    )
    received_at: Mapped[datetime]  # the case's, kept with it by every record of the case

    __table_args__ = (Index("ix_case_search_words_recent", "word", "received_at", "reference"),)


class CaseEvent(Base):
    """The append-only timeline of a case. Rows are inserted once and never changed."""

    __tablename__ = "case_events"
    # The unique constraint's index leads with `reference`, so it also serves lookups by case.
    __table_args__ = (UniqueConstraint("reference", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    step: Mapped[str] = mapped_column(String(80))
    actor: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime]


class Letter(Base):
    """The letters ledger: one row per (case, letter key), claimed before sending and marked sent
    after, so a retried activity never sends the same letter twice.

    No foreign key to `cases`: a letter may be claimed before the case is first recorded."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("reference", "letter_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40))
    letter_key: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(60))
    delivery: Mapped[str] = mapped_column(String(20))
    recipient_role: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    provider_id: Mapped[str | None] = mapped_column(String(200))
    location: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=1)


class StaffAccount(Base):
    """A member of staff who signs in to the admin app. Only the admin app writes it."""

    __tablename__ = "staff_accounts"

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(400))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class StaffSession(Base):
    """A signed-in browser session. The cookie carries only its id; signing out revokes the row,
    so a copied cookie stops working at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"), index=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class SweepReportRow(Base):
    """The daily sweep's report, one row per London day: a re-run on the same day replaces the
    report and keeps `emailed`, the ledger of who has been sent it (recipient id -> delivery)."""

    __tablename__ = "sweep_reports"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    overdue_count: Mapped[int] = mapped_column(Integer)
    at_risk_count: Mapped[int] = mapped_column(Integer)
    letters_failing_count: Mapped[int] = mapped_column(Integer)
    report: Mapped[dict[str, Any]] = mapped_column(JSON)
    emailed: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class RateLimitCounter(Base):
    """One fixed window of a rate limit (admin/rate_limits.py): `count` hits since the window
    opened, until `resets_at`. `key` holds no personal data: addresses and account names in it are
    keyed hashes. Times are seconds since the epoch, as the `limits` library counts them, so one
    atomic upsert can compare and restart a window on SQLite and PostgreSQL alike."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    resets_at: Mapped[float] = mapped_column(Float, index=True)


# -- the learning log (records/learning.py): lessons from complaints, improvements they lead to


class Lesson(Base):
    """What the landlord learned from one or more complaints. Only records/learning.py writes it."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(String(300))
    detail: Mapped[str | None] = mapped_column(Text)
    service_area: Mapped[str] = mapped_column(String(100), index=True)
    created_by: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime]


class LessonCase(Base):
    """A complaint that prompted a lesson (many to many). Only complaints, never enquiries."""

    __tablename__ = "lesson_cases"

    lesson_id: Mapped[int] = mapped_column(Integer, ForeignKey("lessons.id"), primary_key=True)
    reference: Mapped[str] = mapped_column(
        String(40), ForeignKey("cases.reference"), primary_key=True, index=True
    )
    linked_by: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"))
    linked_at: Mapped[datetime]


class Improvement(Base):
    """What will change because of a lesson: an owner, a due date, and when it was done, with a
    note. `public_summary` (optional) is what the public "you said, we did" page shows once done."""

    __tablename__ = "improvements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lesson_id: Mapped[int] = mapped_column(Integer, ForeignKey("lessons.id"), index=True)
    action: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"), index=True)
    due_on: Mapped[date] = mapped_column(Date, index=True)
    public_summary: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"))
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(index=True)
    done_by: Mapped[str | None] = mapped_column(String(80), ForeignKey("staff_accounts.id"))
    done_note: Mapped[str | None] = mapped_column(Text)


class SatisfactionReply(Base):
    """A resident's answer to the satisfaction survey sent when their complaint closed
    (records/satisfaction.py): post-complaint satisfaction, not TP09. One reply per case and per
    link (the unique constraints make a link work once, even for two posts at the same moment)."""

    __tablename__ = "satisfaction_replies"
    __table_args__ = (
        UniqueConstraint("reference", name="uq_satisfaction_replies_reference"),
        UniqueConstraint("nonce", name="uq_satisfaction_replies_nonce"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    nonce: Mapped[str] = mapped_column(String(32))
    rating: Mapped[int] = mapped_column(Integer)  # domain.satisfaction.Rating: 5 very satisfied
    comment: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(index=True)


class CaseLinkRow(Base):
    """A case's resident link (letters/case_link.py): the generation current now. A case with no
    row is at generation 0; revoking moves it on, so every link made before opens nothing."""

    __tablename__ = "case_links"

    reference: Mapped[str] = mapped_column(
        String(40), ForeignKey("cases.reference"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(80))


class CaseLinkEvent(Base):
    """What was done with a case's resident link: each view of the resident's page, each request
    made through it, each revocation. No client address or other personal data."""

    __tablename__ = "case_link_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"), index=True)
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(40))
    generation: Mapped[int] = mapped_column(Integer)
    by: Mapped[str | None] = mapped_column(String(80))  # staff id for a revocation


class FormDraft(Base):
    """A staff step's form as posted, with what was wrong with it, kept for an hour so the case
    page can show it again after a redirect (POST/redirect/GET: a reload never sends the step
    twice). Personal data typed into the form lives here only that long."""

    __tablename__ = "form_drafts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(80), index=True)
    path: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(80))
    status_code: Mapped[int] = mapped_column(Integer)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    problems: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)


# -- people known across cases (records/persons.py, migration 0017)


class PersonRow(Base):
    """A person: one resident's complaints and enquiries linked by staff (never automatically).
    `id` is an opaque reference (PER-XXXX-XXXX), safe in URLs; the match keys are the contact
    details normalised as suggestions compare them (domain/persons.py)."""

    __tablename__ = "persons"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, Any]] = mapped_column(JSON)  # domain.persons.PersonDetails
    email_key: Mapped[str | None] = mapped_column(String(320), index=True)
    phone_key: Mapped[str | None] = mapped_column(String(40), index=True)
    postcode_key: Mapped[str | None] = mapped_column(String(16), index=True)
    owner_id: Mapped[str | None] = mapped_column(String(80))  # a staff id
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class PersonCase(Base):
    """A case linked to a person: at most one person a case. Unlinking deletes the row and
    logs it (`person_events`)."""

    __tablename__ = "person_cases"

    reference: Mapped[str] = mapped_column(String(40), primary_key=True)
    person_id: Mapped[str] = mapped_column(String(40), ForeignKey("persons.id"), index=True)
    linked_by: Mapped[str] = mapped_column(String(80))
    linked_at: Mapped[datetime]


class PersonItem(Base):
    """Something every case of the person must know: reasonable adjustments, a vulnerability or
    a contact restriction (`kind`, domain.persons.ItemKind; `data` its model), with its review
    date and who is reminded when it falls due."""

    __tablename__ = "person_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(40), ForeignKey("persons.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    review_on: Mapped[date] = mapped_column(Date, index=True)
    review_owner: Mapped[str] = mapped_column(String(20))  # domain.persons.ReviewOwner
    recorded_by: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    ended_at: Mapped[datetime | None] = mapped_column(index=True)
    ended_by: Mapped[str | None] = mapped_column(String(80))


class PersonEvent(Base):
    """The append-only log of a person record: created, each case linked and unlinked, each
    item recorded, reviewed and ended, the owner changed. Rows are never changed."""

    __tablename__ = "person_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(String(40), ForeignKey("persons.id"), index=True)
    at: Mapped[datetime]
    event: Mapped[str] = mapped_column(String(40))
    by: Mapped[str] = mapped_column(String(80))  # a staff id
    reference: Mapped[str | None] = mapped_column(String(40), index=True)  # a case, if any
    item_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str | None] = mapped_column(Text)
