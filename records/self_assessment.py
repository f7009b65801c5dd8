"""The Code self-assessment as the landlord answers it (`code_self_assessment`, migration 0013):
one row a reporting year ("2027-28") and provision of the Complaint Handling Code
(domain/self_assessment.py), saying whether the landlord complies, its evidence and commentary,
who last changed it and when.

A year's answers are fixed once its annual report is published (records/annual_reports.py):
the published report carries them. `evidence_samples` finds a few cases of the year behind the
figures that evidence a provision (for staff: never shown on a public page). Every method
blocks (SQL): from the web app, call them through admin.off_loop.off_loop.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from domain.self_assessment import Answer, Comply, EvidenceKey
from records.annual_reports import AnnualReportRow
from records.clocks import CaseClock
from records.schema import Base, Case, utc
from records.tracking import CaseAction, CompensationOffer, OmbudsmanCase

if TYPE_CHECKING:  # records.store imports this module (so Base.metadata holds the table)
    from records.store import RecordsStore

SAMPLES = 3  # sample cases a provision's automatic evidence names


class SelfAssessmentRow(Base):
    __tablename__ = "code_self_assessment"
    __table_args__ = (UniqueConstraint("year_label", "provision"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    year_label: Mapped[str] = mapped_column(String(7))
    provision: Mapped[str] = mapped_column(String(8))
    comply: Mapped[str | None] = mapped_column(String(3))
    evidence: Mapped[str] = mapped_column(Text)
    commentary: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"))


class SelfAssessmentRefused(ValueError):
    pass


class SelfAssessments:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    def answers(self, year_label: str) -> dict[str, Answer]:
        """The year's answers by provision (a provision not answered yet is missing)."""
        query = select(SelfAssessmentRow).where(SelfAssessmentRow.year_label == year_label)
        with Session(self.store.engine) as s:
            return {
                row.provision: Answer(
                    provision=row.provision,
                    comply=Comply(row.comply) if row.comply else None,
                    evidence=row.evidence,
                    commentary=row.commentary,
                )
                for row in s.scalars(query)
            }

    def last_saved(self, year_label: str) -> tuple[datetime, str] | None:
        """When the year's answers were last changed, and by whom (a staff id)."""
        query = (
            select(SelfAssessmentRow.updated_at, SelfAssessmentRow.updated_by)
            .where(SelfAssessmentRow.year_label == year_label)
            .order_by(SelfAssessmentRow.updated_at.desc())
            .limit(1)
        )
        with Session(self.store.engine) as s:
            found = s.execute(query).first()
        return None if found is None else (utc(found[0]), found[1])

    def save(self, year_label: str, answers: Iterable[Answer], by: str, now: datetime) -> int:
        """Write the answers that differ from those stored; how many changed. Refused once the
        year's annual report is published."""

        def write(session: Session) -> int:
            published = session.scalar(
                select(AnnualReportRow.published_at).where(AnnualReportRow.year_label == year_label)
            )
            if published is not None:
                raise SelfAssessmentRefused(
                    f"The {year_label} annual report is published with this self-assessment: "
                    "it cannot be changed."
                )
            stored = {
                row.provision: row
                for row in session.scalars(
                    select(SelfAssessmentRow).where(SelfAssessmentRow.year_label == year_label)
                )
            }
            changed = 0
            for answer in answers:
                values: dict[str, Any] = {
                    "comply": answer.comply.value if answer.comply else None,
                    "evidence": answer.evidence,
                    "commentary": answer.commentary,
                }
                row = stored.get(answer.provision)
                if row is None:
                    if not any(values.values()):
                        continue  # nothing said: no row
                    session.add(
                        SelfAssessmentRow(
                            year_label=year_label,
                            provision=answer.provision,
                            updated_at=now,
                            updated_by=by,
                            **values,
                        )
                    )
                elif any(getattr(row, k) != v for k, v in values.items()):
                    for k, v in values.items():
                        setattr(row, k, v)
                    row.updated_at, row.updated_by = now, by
                else:
                    continue
                changed += 1
            return changed

        with self.store.writing() as session, session.begin():
            return write(session)


def evidence_samples(store: RecordsStore, start: date, end: date) -> dict[str, list[str]]:
    """For each kind of automatic evidence, a few of the year's cases behind it, latest first."""

    def clocks(key: str, *where: Any, by: Any = CaseClock.met_on) -> Any:
        return (
            select(CaseClock.reference)
            .where(CaseClock.key == key, by >= start, by <= end, *where)
            .order_by(by.desc(), CaseClock.reference)
        )

    queries: dict[EvidenceKey, Any] = {
        EvidenceKey.contact_timeliness: clocks("s1_contact"),
        EvidenceKey.acknowledgement_timeliness: clocks("s1_acknowledgement"),
        EvidenceKey.stage1_timeliness: clocks("s1_response"),
        EvidenceKey.stage2_timeliness: clocks("s2_response"),
        EvidenceKey.extensions: clocks("s1_response", CaseClock.extensions > 0),
        EvidenceKey.escalation: clocks("s2_acknowledgement", by=CaseClock.started_on),
        EvidenceKey.declined_by_reason: select(Case.reference)
        .where(Case.closure_reason == "declined", Case.closed_at.is_not(None))
        .where(Case.closed_at >= datetime.combine(start, datetime.min.time()))
        .where(Case.closed_at < datetime.combine(end, datetime.max.time()))
        .order_by(Case.closed_at.desc()),
        EvidenceKey.remedies: select(CaseAction.reference)
        .where(CaseAction.due_on >= start, CaseAction.due_on <= end)
        .order_by(CaseAction.due_on.desc()),
        EvidenceKey.compensation: select(CompensationOffer.reference)
        .where(CompensationOffer.offered_on >= start, CompensationOffer.offered_on <= end)
        .order_by(CompensationOffer.offered_on.desc()),
        EvidenceKey.ombudsman: select(OmbudsmanCase.reference)
        .where(OmbudsmanCase.referred_on >= start, OmbudsmanCase.referred_on <= end)
        .order_by(OmbudsmanCase.referred_on.desc()),
    }
    found: dict[str, list[str]] = {}
    with Session(store.engine) as s:
        for key, query in queries.items():
            refs: list[str] = []
            for ref in s.scalars(query.limit(SAMPLES * 4)):
                if ref not in refs:
                    refs.append(ref)
                if len(refs) == SAMPLES:
                    break
            found[key.value] = refs
    return found
