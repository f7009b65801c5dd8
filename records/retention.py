"""Anonymising a case, and a person, everywhere the records keep them (domain/retention.py says
what stays), for the retention job (workflows/retention.py) and erasure requests
(admin/routes/data_protection.py) alike. Migration 0019.

- `anonymisations`: one row per case (or person record) anonymised: when, why (retention or
  erasure), by whom (a staff id, or `retention-job`) and by which rule; and the files still to
  remove (`pending`: the outbox letters, the evidence objects that may no longer be needed).
- `erasure_requests`: each erasure request a manager recorded: the checks confirmed, the note,
  what was erased and what could not be, and why.
- `known_policies`: each policy the worker has run under, by its stamp's hash, so a closed
  case's retention is decided by the policy it was lodged under (domain.retention.retention_for).

Nothing is half done: a case's rows change in one transaction, which also writes its
`anonymisations` row listing the files to remove; the files go after the commit, and the row is
marked finished. A crash between the two leaves the row unfinished: `finish_pending` (the first
thing every run does) removes them. An evidence object is deleted only when no `evidence_files`
row holds its SHA-256 any more, and an enquiry's files stay while a complaint it became (which
shows them) is kept.

Every method blocks (SQL, disk): from the web app call them through admin.off_loop.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, Integer, String, Text, cast, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

import records.access_log  # noqa: F401  (its table is in Base.metadata with these)
from domain.policy import Policy
from domain.retention import (
    MARKER,
    Refusal,
    Why,
    anonymised_case_data,
    anonymised_event,
    anonymised_item,
)
from domain.urgency import CLOSED_STAGE
from records.evidence import EvidenceEventRow, EvidenceFile
from records.schema import (
    Base,
    Case,
    CaseEvent,
    CaseSearchWord,
    FormDraft,
    Letter,
    PersonCase,
    PersonEvent,
    PersonItem,
    PersonRow,
    SatisfactionReply,
    utc,
)
from records.storage import EvidenceStorage
from records.store import RecordsStore
from records.tracking import CaseAction, OmbudsmanCase, OmbudsmanOrder, OmbudsmanRequest

LETTER_BODY = f"<p>{MARKER}</p>"


class Anonymisation(Base):
    __tablename__ = "anonymisations"

    reference: Mapped[str] = mapped_column(String(40), primary_key=True)  # a case or PER-...
    kind: Mapped[str] = mapped_column(String(20))  # complaint, enquiry, person
    why: Mapped[str] = mapped_column(String(20), index=True)  # domain.retention.Why
    by: Mapped[str] = mapped_column(String(80))  # a staff id, or domain.retention.JOB
    at: Mapped[datetime] = mapped_column(index=True)
    rule: Mapped[str | None] = mapped_column(String(300))  # which period, or which request
    pending: Mapped[dict[str, Any]] = mapped_column(JSON)  # {"files": [...], "objects": [...]}
    finished_at: Mapped[datetime | None]


class ErasureRequestRow(Base):
    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person: Mapped[str | None] = mapped_column(String(40), index=True)
    reference: Mapped[str | None] = mapped_column(String(40), index=True)
    checks: Mapped[list[str]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime]
    erased: Mapped[list[str]] = mapped_column(JSON)
    refused: Mapped[list[dict[str, str]]] = mapped_column(JSON)


class KnownPolicy(Base):
    __tablename__ = "known_policies"

    hash: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[str] = mapped_column(String(40))
    policy: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_seen_at: Mapped[datetime]


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    reference: str
    kind: str
    workflow_id: str
    closed_at: datetime
    policy_hash: str | None


class Done(BaseModel):
    model_config = ConfigDict(frozen=True)

    reference: str
    kind: str
    why: Why
    by: str
    at: datetime
    rule: str | None
    finished: bool


class Retention:
    def __init__(self, store: RecordsStore, storage: EvidenceStorage, outbox_dir: Path) -> None:
        self.store, self.storage, self.outbox = store, storage, Path(outbox_dir)

    # ------------------------------------------------------------------ policies

    def remember_policy(self, policy: Policy, now: datetime) -> None:
        stamp = policy.stamp()
        with self.store.writing() as session, session.begin():
            if session.get(KnownPolicy, stamp.hash) is None:
                session.add(
                    KnownPolicy(
                        hash=stamp.hash,
                        name=policy.name,
                        version=policy.version,
                        policy=policy.model_dump(mode="json"),
                        first_seen_at=utc(now),
                    )
                )

    def policies(self) -> dict[str, Policy]:
        with self.store.reading() as session:
            rows = session.scalars(select(KnownPolicy)).all()
            return {r.hash: Policy.model_validate(r.policy) for r in rows}

    # ------------------------------------------------------------------ reading

    def candidates(self, after: str, closed_before: datetime, limit: int) -> list[Candidate]:
        """Closed cases, closed before `closed_before`, not anonymised, after reference `after`
        in reference order."""
        done = select(Anonymisation.reference)
        query = (
            select(Case)
            .where(
                Case.stage == CLOSED_STAGE,
                Case.closed_at.is_not(None),
                Case.closed_at < utc(closed_before),
                Case.reference > after,
                Case.reference.not_in(done),
            )
            .order_by(Case.reference)
            .limit(limit)
        )
        with self.store.reading() as session:
            return [
                Candidate(
                    reference=r.reference,
                    kind=r.kind,
                    workflow_id=r.workflow_id,
                    closed_at=r.closed_at,  # type: ignore[arg-type]
                    policy_hash=((r.data or {}).get("policy") or {}).get("hash"),
                )
                for r in session.scalars(query)
            ]

    def done(self, reference: str) -> Done | None:
        with self.store.reading() as session:
            row = session.get(Anonymisation, reference)
            return None if row is None else _done(row)

    def all_done(self, limit: int = 200) -> list[Done]:
        with self.store.reading() as session:
            rows = session.scalars(
                select(Anonymisation).order_by(Anonymisation.at.desc()).limit(limit)
            ).all()
            return [_done(r) for r in rows]

    def persons_of(self, references: list[str]) -> list[str]:
        with self.store.reading() as session:
            return sorted(
                set(
                    session.scalars(
                        select(PersonCase.person_id).where(PersonCase.reference.in_(references))
                    )
                )
            )

    # ------------------------------------------------------------------ anonymising

    def anonymise_case(
        self, reference: str, why: Why, by: str, now: datetime, rule: str | None = None
    ) -> bool:
        """Anonymise the case everywhere and record it; False if it already was (or is not
        recorded). The files go after the commit (`finish`)."""
        with self.store.writing() as session, session.begin():
            if session.get(Anonymisation, reference) is not None:
                return False
            case = session.get(Case, reference, with_for_update=True)
            if case is None:
                return False
            files = self._anonymise_letters(session, reference)
            objects = self._drop_evidence(session, case)
            case.resident_name = MARKER
            case.postcode = case.postcode_key = case.property_reference = None
            case.data = anonymised_case_data(dict(case.data or {}))
            case.updated_at = max(utc(now), case.updated_at)  # an older snapshot never wins
            session.query(CaseSearchWord).filter(CaseSearchWord.reference == reference).delete()
            for event in session.scalars(select(CaseEvent).where(CaseEvent.reference == reference)):
                event.summary, event.details = anonymised_event(event.step, dict(event.details))
            _blank(session, CaseAction, reference, action=MARKER, owner=MARKER, note=None)
            _blank(session, OmbudsmanCase, reference, findings=None)
            _blank(session, OmbudsmanRequest, reference, description=MARKER)
            _blank(session, OmbudsmanOrder, reference, description=MARKER, evidence=None)
            session.execute(
                update(SatisfactionReply)
                .where(
                    SatisfactionReply.reference == reference, SatisfactionReply.comment.is_not(None)
                )
                .values(comment=MARKER)
            )
            session.execute(
                update(PersonEvent)
                .where(PersonEvent.reference == reference, PersonEvent.detail.is_not(None))
                .values(detail=MARKER)
            )
            session.query(FormDraft).filter(FormDraft.path.contains(reference)).delete(
                synchronize_session=False
            )
            session.add(
                Anonymisation(
                    reference=reference,
                    kind=case.kind,
                    why=why.value,
                    by=by,
                    at=utc(now),
                    rule=rule,
                    pending={"files": files, "objects": objects},
                )
            )
        self.finish(reference)
        return True

    def anonymise_person_if_unkept(
        self, person: str, why: Why, by: str, now: datetime, rule: str | None = None
    ) -> bool:
        """Anonymise the person record once none of their cases is kept (every one anonymised):
        their details, items, the log's words and the letters about the record. False if some
        case is kept, or it already was."""
        with self.store.writing() as session, session.begin():
            if session.get(Anonymisation, person) is not None:
                return False
            row = session.get(PersonRow, person, with_for_update=True)
            if row is None:
                return False
            cases = set(
                session.scalars(select(PersonCase.reference).where(PersonCase.person_id == person))
            )
            gone = set(
                session.scalars(
                    select(Anonymisation.reference).where(Anonymisation.reference.in_(cases))
                )
            )
            if cases - gone:
                return False
            row.name = MARKER
            row.details = {"name": MARKER}
            row.email_key = row.phone_key = row.postcode_key = None
            row.updated_at = utc(now)
            for item in session.scalars(select(PersonItem).where(PersonItem.person_id == person)):
                item.data = anonymised_item(dict(item.data))
            session.execute(
                update(PersonEvent)
                .where(
                    PersonEvent.person_id == person,
                    PersonEvent.detail.is_not(None),
                    PersonEvent.event.in_(("unlinked", "reviewed", "ended")),
                )
                .values(detail=MARKER)
            )
            files = self._anonymise_letters(session, person)
            session.add(
                Anonymisation(
                    reference=person,
                    kind="person",
                    why=why.value,
                    by=by,
                    at=utc(now),
                    rule=rule,
                    pending={"files": files, "objects": []},
                )
            )
        self.finish(person)
        return True

    def finish(self, reference: str) -> None:
        """Remove the files an anonymisation left to remove, then mark it finished."""
        with self.store.reading() as session:
            row = session.get(Anonymisation, reference)
            if row is None or row.finished_at is not None:
                return
            pending = dict(row.pending or {})
        root = self.outbox.resolve()
        for name in pending.get("files", []):
            path = Path(name).resolve()
            if path.is_relative_to(root):  # only ever our own outbox
                path.unlink(missing_ok=True)
        for sha in pending.get("objects", []):
            with self.store.reading() as session:
                held = session.scalar(select(EvidenceFile.id).where(EvidenceFile.sha256 == sha))
            if held is None:
                self.storage.delete(sha)
        with self.store.writing() as session, session.begin():
            row = session.get(Anonymisation, reference, with_for_update=True)
            if row is not None and row.finished_at is None:
                row.finished_at = utc(datetime.now(row.at.tzinfo))
                row.pending = {"files": [], "objects": []}

    def finish_pending(self) -> list[str]:
        """Finish every anonymisation a crash left with files to remove; their references."""
        with self.store.reading() as session:
            left = list(
                session.scalars(
                    select(Anonymisation.reference).where(Anonymisation.finished_at.is_(None))
                )
            )
        for reference in left:
            self.finish(reference)
        return left

    # ------------------------------------------------------------------ parts

    def _anonymise_letters(self, session: Session, reference: str) -> list[str]:
        """Blank the ledger's letters of `reference`; the outbox files to remove: each letter's
        and anything else in the reference's outbox folder (only its letters are there)."""
        files = []
        for letter in session.scalars(select(Letter).where(Letter.reference == reference)):
            if letter.location and not letter.location.startswith("http"):
                files.append(letter.location)
            letter.recipient = MARKER
            letter.subject = MARKER
            letter.body_html = LETTER_BODY if letter.body_html is not None else None
            letter.location = None
        folder = self.outbox / reference
        if folder.is_dir():
            files += [str(p) for p in folder.iterdir() if p.is_file()]
        return sorted(set(files))

    def _drop_evidence(self, session: Session, case: Case) -> list[str]:
        """Delete the evidence rows of the case, and of any enquiry it shows that is itself
        anonymised, unless a kept case still shows them; the SHA-256s to check afterwards."""
        objects: list[str] = []
        refs = [case.reference] + [
            r
            for r in (case.linked_references or [])
            if r.startswith("ENQ-") and session.get(Anonymisation, r) is not None
        ]
        for ref in refs:
            if ref.startswith("ENQ-") and self._shown_by_kept_case(session, ref, case.reference):
                continue
            rows = session.scalars(select(EvidenceFile).where(EvidenceFile.reference == ref)).all()
            ids = [r.id for r in rows]
            if ids:
                session.execute(
                    update(EvidenceEventRow)
                    .where(EvidenceEventRow.file_id.in_(ids))
                    .values(file_id=None)
                )
            for row in rows:
                objects.append(row.sha256)
                session.delete(row)
            session.execute(
                update(EvidenceEventRow)
                .where(EvidenceEventRow.reference == ref, EvidenceEventRow.detail.is_not(None))
                .values(detail=MARKER)
            )
        session.flush()
        return sorted(set(objects))

    @staticmethod
    def _shown_by_kept_case(session: Session, enquiry: str, leaving: str) -> bool:
        """Whether a case other than `leaving`, not anonymised, names `enquiry` among its
        linked references (a complaint it became shows its files). A scan of the JSON column's
        text: this runs once per anonymised enquiry, in the nightly job."""
        linking = session.scalars(
            select(Case.reference).where(
                cast(Case.linked_references, String).contains(enquiry),
                Case.reference != leaving,
                Case.reference != enquiry,
                Case.reference.not_in(select(Anonymisation.reference)),
            )
        ).all()
        return bool(linking)

    # ------------------------------------------------------------------ erasure requests

    def record_erasure(
        self,
        *,
        person: str | None,
        reference: str | None,
        checks: list[str],
        note: str,
        by: str,
        now: datetime,
        erased: list[str],
        refused: list[Refusal],
    ) -> int:
        with self.store.writing() as session, session.begin():
            row = ErasureRequestRow(
                person=person,
                reference=reference,
                checks=checks,
                note=note,
                requested_by=by,
                at=utc(now),
                erased=erased,
                refused=[r.model_dump() for r in refused],
            )
            session.add(row)
            session.flush()
            return row.id

    def erasure_requests(self, limit: int = 50) -> list[dict[str, Any]]:
        with self.store.reading() as session:
            rows = session.scalars(
                select(ErasureRequestRow).order_by(ErasureRequestRow.id.desc()).limit(limit)
            ).all()
            return [
                {
                    "id": r.id,
                    "person": r.person,
                    "reference": r.reference,
                    "by": r.requested_by,
                    "at": r.at,
                    "erased": list(r.erased),
                    "refused": list(r.refused),
                }
                for r in rows
            ]


def _blank(session: Session, model: type[Base], reference: str, **values: Any) -> None:
    """Set the free text of the case's rows of `model` (those that have any)."""
    table = model.__table__
    with contextlib.suppress(KeyError):
        session.execute(update(table).where(table.c.reference == reference).values(**values))


def _done(row: Anonymisation) -> Done:
    return Done(
        reference=row.reference,
        kind=row.kind,
        why=Why(row.why),
        by=row.by,
        at=row.at,
        rule=row.rule,
        finished=row.finished_at is not None,
    )
