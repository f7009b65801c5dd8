"""Who looked at whose data (migration 0019): one row per case page view, letter view, evidence
download, case file build, subject access export, erasure and person page view. A row holds the
staff id, what was done, the case reference and/or the person record's reference, and when:
nothing else (no name, no address, no query string). Managers read it at /access-log.

Every method blocks (SQL): from the web app call them through admin.off_loop.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import Integer, String, func, select
from sqlalchemy.orm import Mapped, mapped_column

from records.schema import Base, utc
from records.store import RecordsStore


class AccessLogRow(Base):
    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    staff_id: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(40))
    reference: Mapped[str | None] = mapped_column(String(40), index=True)  # a case
    person: Mapped[str | None] = mapped_column(String(40), index=True)  # PER-...


class Access(StrEnum):
    case_viewed = "case_viewed"
    letter_viewed = "letter_viewed"
    evidence_downloaded = "evidence_downloaded"
    case_file_built = "case_file_built"
    person_viewed = "person_viewed"
    subject_access_export = "subject_access_export"
    erasure = "erasure"


ACCESS_LABELS = {
    Access.case_viewed: "Viewed the case page",
    Access.letter_viewed: "Viewed a letter",
    Access.evidence_downloaded: "Downloaded evidence",
    Access.case_file_built: "Built the case file",
    Access.person_viewed: "Viewed the person record",
    Access.subject_access_export: "Exported a subject access request",
    Access.erasure: "Carried out an erasure request",
}


class AccessEntry(BaseModel):
    model_config = ConfigDict(frozen=True, from_attributes=True)

    id: int
    at: datetime
    staff_id: str
    action: Access
    reference: str | None
    person: str | None

    @property
    def label(self) -> str:
        return ACCESS_LABELS[self.action]


class AccessLog:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    def log(
        self,
        staff_id: str,
        action: Access,
        now: datetime,
        *,
        reference: str | None = None,
        person: str | None = None,
    ) -> None:
        with self.store.writing() as session, session.begin():
            session.add(
                AccessLogRow(
                    at=utc(now),
                    staff_id=staff_id,
                    action=action.value,
                    reference=reference,
                    person=person,
                )
            )

    def page(
        self,
        *,
        reference: str | None = None,
        person: str | None = None,
        staff_id: str | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> tuple[list[AccessEntry], int]:
        """Newest first, filtered by each of the given: one page, and how many in all."""
        where = []
        if reference:
            where.append(AccessLogRow.reference == reference)
        if person:
            where.append(AccessLogRow.person == person)
        if staff_id:
            where.append(AccessLogRow.staff_id == staff_id)
        query = (
            select(AccessLogRow)
            .where(*where)
            .order_by(AccessLogRow.at.desc(), AccessLogRow.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.store.reading() as session:
            total = session.scalar(select(func.count()).select_from(AccessLogRow).where(*where))
            rows = [AccessEntry.model_validate(r) for r in session.scalars(query)]
        return rows, total or 0
