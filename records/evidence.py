"""Evidence on a case, as the records keep it (migration 0016):

- `evidence_files`: one row per file on a case: its SHA-256 (the key of its bytes in the
  evidence storage, records/storage.py), the file name as given (made safe), its type as its
  content says, size, the note, who added it (a staff id; none for an inbound email's
  attachment) and when. One row per (case, bytes): the same file added to a case again is the
  one already there.
- `evidence_events`: what else happened to a case's evidence, for its timeline: each download
  (who, when, through which case's page), each inbound attachment refused (and why), each case
  file built (PDF or ZIP). Rows are inserted once and never changed; an event with a `key`
  (an inbound email's refused attachment) is inserted once per case and key, so SendGrid's
  retries note it once.

A complaint converted from an enquiry (or raised from a service request) shows the enquiry's
files too: the complaint's `linked_references` name the enquiry, and `CaseEvidence` reads the
files of every linked enquiry along with the case's own. The rows stay the enquiry's (nothing is
copied), so each file has one row and one history, wherever it is shown.

No foreign key to `cases`: an email's attachments are kept the moment its enquiry is lodged,
before the records activity first records the case. Every method blocks (SQL): from the web app,
call them through admin.off_loop.off_loop.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict
from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from domain.evidence import CheckedFile, size_in_words, type_of
from records.schema import Base, utc

if TYPE_CHECKING:  # records.store imports this module (so Base.metadata holds the tables)
    from records.store import RecordsStore


class EvidenceFile(Base):
    __tablename__ = "evidence_files"
    __table_args__ = (UniqueConstraint("reference", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))  # EvidenceSource
    uploaded_by: Mapped[str | None] = mapped_column(String(80))  # a staff id; None: by email
    uploaded_at: Mapped[datetime]


class EvidenceEventRow(Base):
    __tablename__ = "evidence_events"
    __table_args__ = (UniqueConstraint("reference", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), index=True)  # the case it happened on
    event: Mapped[str] = mapped_column(String(40))  # EvidenceEvent
    file_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("evidence_files.id"))
    by: Mapped[str | None] = mapped_column(String(80))  # a staff id; None: the system
    at: Mapped[datetime]
    detail: Mapped[str | None] = mapped_column(Text)
    key: Mapped[str | None] = mapped_column(String(120))  # once per case and key, when set


class EvidenceSource(StrEnum):
    upload = "upload"  # by staff, on the case page
    email = "email"  # an inbound email's attachment


class EvidenceEvent(StrEnum):
    downloaded = "downloaded"
    refused = "refused"  # an inbound email's attachment not kept
    case_file_pdf = "case_file_pdf"
    case_file_zip = "case_file_zip"


class EvidenceItem(BaseModel):
    """A file on a case, as the case page and the case file show it."""

    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    reference: str  # the case it was added to (a linked enquiry's, when carried over)
    sha256: str
    filename: str
    content_type: str
    size: int
    note: str | None
    source: EvidenceSource
    uploaded_by: str | None
    uploaded_at: datetime

    @property
    def label(self) -> str:
        return type_of(self.content_type).label

    @property
    def size_words(self) -> str:
        return size_in_words(self.size)

    @property
    def download_name(self) -> str:
        return CheckedFile(
            filename=self.filename,
            content_type=self.content_type,
            label=self.label,
            size=self.size,
            sha256=self.sha256,
        ).download_name


class EventItem(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    reference: str
    event: EvidenceEvent
    file_id: int | None
    by: str | None
    at: datetime
    detail: str | None


class TimelineLine(BaseModel):
    """One line of the case's timeline about its evidence."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    what: str
    who: str | None


class CaseEvidence(BaseModel):
    """A case's evidence: its files (its own, then its linked enquiries'), and its events."""

    model_config = ConfigDict(frozen=True)

    reference: str
    files: list[EvidenceItem]
    events: list[EventItem]

    def file(self, file_id: int) -> EvidenceItem | None:
        return next((f for f in self.files if f.id == file_id), None)

    def timeline(self) -> list[TimelineLine]:
        """Each file added and each event, as lines for the case's timeline (unsorted)."""
        lines = []
        for f in self.files:
            carried = f.reference != self.reference
            if f.source is EvidenceSource.email:
                what = (
                    f"Email attachment kept as evidence: {f.filename} ({f.label}, {f.size_words})"
                )
            else:
                what = f"Evidence added: {f.filename} ({f.label}, {f.size_words})"
            if carried:
                what = f"On enquiry {f.reference}: {what[0].lower()}{what[1:]}"
            lines.append(TimelineLine(at=f.uploaded_at, what=what, who=f.uploaded_by))
        names = {f.id: f.filename for f in self.files}
        for e in self.events:
            lines.append(TimelineLine(at=e.at, what=_event_words(e, names), who=e.by))
        return lines


def _event_words(event: EventItem, names: dict[int, str]) -> str:
    name = names.get(event.file_id or 0, "a file")
    match event.event:
        case EvidenceEvent.downloaded:
            return f"Evidence downloaded: {name}"
        case EvidenceEvent.refused:
            return f"Email attachment not kept: {event.detail}"
        case EvidenceEvent.case_file_pdf:
            return "Case file built: PDF"
        case EvidenceEvent.case_file_zip:
            return "Case file built: ZIP with the PDF and the attachments"
    return event.event.value  # pragma: no cover - every event is named above


class EvidenceStore:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    def add(
        self,
        reference: str,
        checked: CheckedFile,
        *,
        note: str | None,
        source: EvidenceSource,
        by: str | None,
        now: datetime,
    ) -> tuple[EvidenceItem, bool]:
        """Keep a checked file's row on the case (its bytes already in the storage): the row,
        and whether it is new (False: the same bytes were already on the case)."""
        query = select(EvidenceFile).where(
            EvidenceFile.reference == reference, EvidenceFile.sha256 == checked.sha256
        )
        for _attempt in range(2):  # a lost insert race finds the other's row the second time
            try:
                with self.store.writing() as session, session.begin():
                    found = session.scalars(query).one_or_none()
                    if found is not None:
                        return EvidenceItem.model_validate(found), False
                    row = EvidenceFile(
                        reference=reference,
                        sha256=checked.sha256,
                        filename=checked.filename,
                        content_type=checked.content_type,
                        size=checked.size,
                        note=note or None,
                        source=source.value,
                        uploaded_by=by,
                        uploaded_at=utc(now),
                    )
                    session.add(row)
                    session.flush()
                    return EvidenceItem.model_validate(row), True
            except IntegrityError:
                continue
        raise RuntimeError("evidence row neither inserted nor found")  # pragma: no cover

    def log(
        self,
        reference: str,
        event: EvidenceEvent,
        *,
        by: str | None,
        now: datetime,
        file_id: int | None = None,
        detail: str | None = None,
        key: str | None = None,
    ) -> None:
        """Note an event on the case; with a `key`, only the first time for that case and key."""
        row = EvidenceEventRow(
            reference=reference,
            event=event.value,
            file_id=file_id,
            by=by,
            at=utc(now),
            detail=detail,
            key=key,
        )
        try:
            with self.store.writing() as session, session.begin():
                if key is not None:
                    seen = session.scalar(
                        select(EvidenceEventRow.id).where(
                            EvidenceEventRow.reference == reference, EvidenceEventRow.key == key
                        )
                    )
                    if seen is not None:
                        return
                session.add(row)
        except IntegrityError:
            if key is None:
                raise  # only a keyed event can lose a race to its own twin

    def for_case(self, reference: str, linked: list[str] | tuple[str, ...] = ()) -> CaseEvidence:
        """The case's files and those of the enquiries in `linked` (oldest first), and the
        case's own events."""
        enquiries = [r for r in linked if r.startswith("ENQ-") and r != reference]
        with self.store.reading() as session:
            files = session.scalars(
                select(EvidenceFile)
                .where(EvidenceFile.reference.in_([reference, *enquiries]))
                .order_by(EvidenceFile.uploaded_at, EvidenceFile.id)
            ).all()
            events = session.scalars(
                select(EvidenceEventRow)
                .where(EvidenceEventRow.reference == reference)
                .order_by(EvidenceEventRow.at, EvidenceEventRow.id)
            ).all()
            return CaseEvidence(
                reference=reference,
                files=[EvidenceItem.model_validate(f) for f in files],
                events=[EventItem.model_validate(e) for e in events],
            )
