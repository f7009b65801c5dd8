"""Each case's resident link (letters/case_link.py) as the records keep it: the generation that
opens the case now, and the log of what was done through the link.

A link opens its case only while the case is recorded and its generation is the current one:
revoking moves the case on to the next generation (every earlier link then opens nothing, and the
next letter carries the new one), and a case whose records are deleted has no link at all. Every
method blocks (SQL): from the web app, call them through admin.off_loop.off_loop."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select

from records.schema import Case, CaseLinkEvent, CaseLinkRow
from records.store import RecordsStore


class LinkEvent(StrEnum):
    viewed = "viewed"
    letter_read = "letter_read"
    asked_for_stage2 = "asked_for_stage2"
    asked_for_call_back = "asked_for_call_back"
    replied = "replied"
    revoked = "revoked"


class LinkUse(BaseModel):
    """What staff see of a case's link: its generation, revocation, and how it has been used."""

    model_config = ConfigDict(frozen=True)

    generation: int
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    counts: dict[LinkEvent, int] = {}
    last_used_at: datetime | None = None


class CaseLinks:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    def current(self, reference: str) -> int | None:
        """The case's link generation now, or None when the case is not recorded."""
        with self.store.reading() as session:
            row = session.execute(
                select(Case.reference, CaseLinkRow.generation)
                .outerjoin(CaseLinkRow, CaseLinkRow.reference == Case.reference)
                .where(Case.reference == reference)
            ).first()
        if row is None:
            return None
        return row.generation or 0

    def generation_for_letters(self, reference: str) -> int:
        """The generation a letter's link carries: the current one (0 before the case's first
        record, when nobody can have revoked anything)."""
        return self.current(reference) or 0

    def revoke(self, reference: str, by: str, now: datetime) -> int | None:
        """Move the case on to its next generation; the new generation, or None when the case is
        not recorded."""
        with self.store.writing() as session, session.begin():
            if session.get(Case, reference) is None:
                return None
            row = session.get(CaseLinkRow, reference, with_for_update=True)
            if row is None:
                row = CaseLinkRow(reference=reference, generation=0)
                session.add(row)
            row.generation = (row.generation or 0) + 1
            row.revoked_at, row.revoked_by = now, by
            session.add(
                CaseLinkEvent(
                    reference=reference,
                    at=now,
                    event=LinkEvent.revoked.value,
                    generation=row.generation,
                    by=by,
                )
            )
            return row.generation

    def log(self, reference: str, event: LinkEvent, generation: int, now: datetime) -> None:
        with self.store.writing() as session, session.begin():
            session.add(
                CaseLinkEvent(reference=reference, at=now, event=event.value, generation=generation)
            )

    def use(self, reference: str) -> LinkUse:
        # counted by the database, a row a kind of event: a link opened every day for years
        # is as quick to show as a new one
        with self.store.reading() as session:
            row = session.get(CaseLinkRow, reference)
            kinds = session.execute(
                select(CaseLinkEvent.event, func.count(), func.max(CaseLinkEvent.at))
                .where(
                    CaseLinkEvent.reference == reference,
                    CaseLinkEvent.event != LinkEvent.revoked.value,
                )
                .group_by(CaseLinkEvent.event)
            ).all()
        return LinkUse(
            generation=row.generation if row else 0,
            revoked_at=row.revoked_at if row else None,
            revoked_by=row.revoked_by if row else None,
            counts={LinkEvent(event): count for event, count, _ in kinds},
            last_used_at=max((last for _, _, last in kinds), default=None),
        )
