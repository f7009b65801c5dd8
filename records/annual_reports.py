"""The annual complaints performance and service improvement report, as the governing body saw
it and the landlord published it (`annual_reports`, migration 0012).

The Housing Ombudsman's Complaint Handling Code asks that the annual report "goes to the
governing body and is published with the body's response". records/annual_report.py counts its
figures; this keeps, one row a reporting year ("2027-28"), what people add to them:

- the narrative (what the figures show and what the landlord is doing about it) and the governing
  body's response, drafted by managers (`save_draft`, any number of times: either may be empty
  while it is a draft), with who last changed them and when;
- once published (`publish`): when and by whom, and the figures as published, frozen as JSON
  (`figures_json` of the AnnualReport), so the published report never changes when later data
  arrives. Publishing needs both texts; a published year cannot be edited or published again.

A rule the store refuses raises `AnnualReportRefused`, naming the box it is about ("narrative",
"response") or none. Every method blocks (SQL): from the web app, call them through
admin.off_loop.off_loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import JSON, ForeignKey, String, Text, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, aliased, mapped_column

from domain.annual_report import AnnualReport
from records.schema import Base, StaffAccount, utc

if TYPE_CHECKING:  # records.store imports this module (so Base.metadata holds the table)
    from records.store import RecordsStore

LONDON = ZoneInfo("Europe/London")
MAX_TEXT = 20_000  # characters, each of the two texts
YEAR_LABEL = re.compile(r"^(\d{4})-(\d{2})$")
NARRATIVE, RESPONSE = "narrative", "response"  # the boxes a refusal can name
TEXT_NAMES = {NARRATIVE: "our narrative", RESPONSE: "the governing body's response"}


class AnnualReportRow(Base):
    """One reporting year's annual report: the texts, and once published, the frozen figures."""

    __tablename__ = "annual_reports"

    year_label: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2027-28"
    narrative: Mapped[str] = mapped_column(Text)
    governing_body_response: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80), ForeignKey("staff_accounts.id"))
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(80), ForeignKey("staff_accounts.id"))
    figures: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AnnualReportRefused(ValueError):
    """What the store refuses: `field` is the box it is about (NARRATIVE, RESPONSE) or None."""

    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class StoredAnnualReport(BaseModel):
    """A reporting year's row as the pages read it (the staff's names joined in)."""

    model_config = ConfigDict(frozen=True)

    year_label: str
    narrative: str
    governing_body_response: str
    updated_at: datetime
    updated_by: str
    updated_by_name: str
    published_at: datetime | None = None
    published_by: str | None = None
    published_by_name: str | None = None
    figures: dict[str, Any] | None = None

    @property
    def published(self) -> bool:
        return self.published_at is not None

    def report(self) -> AnnualReport | None:
        """The figures as published, or None while it is a draft."""
        return None if self.figures is None else frozen_figures(self.figures)


class PublicAnnualReport(BaseModel):
    """A published report as the public pages show it: the texts, the day published and the
    figures as published, without the Housing Ombudsman's findings (their number only: they are
    the Ombudsman's words about a case) and without anyone's name."""

    model_config = ConfigDict(frozen=True)

    year_label: str
    narrative: str
    governing_body_response: str
    published_on: date  # London
    report: AnnualReport
    findings: int  # the number of the Ombudsman's findings the report counted


def _public(found: StoredAnnualReport) -> PublicAnnualReport:
    report = found.report()
    assert report is not None and found.published_at is not None
    return PublicAnnualReport(
        year_label=found.year_label,
        narrative=found.narrative,
        governing_body_response=found.governing_body_response,
        published_on=utc(found.published_at).astimezone(LONDON).date(),
        report=report.model_copy(
            update={"ombudsman": report.ombudsman.model_copy(update={"findings": []})}
        ),
        findings=len(report.ombudsman.findings),
    )


def figures_json(report: AnnualReport) -> dict[str, Any]:
    """The figures as stored at publishing: JSON, without what the models compute (a % met),
    so they read back (`frozen_figures`) into the same AnnualReport."""
    return report.model_dump(mode="json", exclude_computed_fields=True)


def frozen_figures(figures: dict[str, Any]) -> AnnualReport:
    return AnnualReport.model_validate(figures)


def is_year_label(text: str) -> bool:
    """ "2027-28": a reporting year, the second part the year after the first."""
    found = YEAR_LABEL.fullmatch(text)
    return found is not None and (int(found.group(1)) + 1) % 100 == int(found.group(2))


def _text(value: str | None, field: str) -> str:
    text = (value or "").replace("\r\n", "\n").strip()  # as browsers send a textarea
    if len(text) > MAX_TEXT:
        raise AnnualReportRefused(
            field,
            f"{_capital(TEXT_NAMES[field])} must be {MAX_TEXT:,} characters or fewer "
            f"(it has {len(text):,})",
        )
    return text


def _capital(text: str) -> str:
    return text[0].upper() + text[1:]


def _published_refusal(year_label: str) -> AnnualReportRefused:
    return AnnualReportRefused(
        None,
        f"The {year_label} annual report is published: it cannot be changed or published again",
    )


class AnnualReports:
    """The annual reports in the records database (AnnualReportRow)."""

    def __init__(self, store: RecordsStore) -> None:
        self._session = store.reading
        self._writing = store.writing

    def get(self, year_label: str) -> StoredAnnualReport | None:
        found = self._read(AnnualReportRow.year_label == year_label)
        return found[0] if found else None

    def published(self) -> list[PublicAnnualReport]:
        """The published years, the newest year first, as everyone may see them."""
        return [_public(r) for r in self._read(AnnualReportRow.published_at.is_not(None))]

    def public(self, year_label: str) -> PublicAnnualReport | None:
        """The year's report as everyone may see it, or None until it is published."""
        found = self.get(year_label)
        return None if found is None or not found.published else _public(found)

    def save_draft(
        self,
        year_label: str,
        narrative: str | None,
        response: str | None,
        *,
        by: str,
        now: datetime,
    ) -> StoredAnnualReport:
        """Keep the two texts as a draft (either may be empty); refused once published."""
        _check_label(year_label)
        texts = {NARRATIVE: _text(narrative, NARRATIVE), RESPONSE: _text(response, RESPONSE)}

        def draft(row: AnnualReportRow) -> None:
            _set_texts(row, texts, by, now)

        return self._change(year_label, draft)

    def publish(
        self,
        year_label: str,
        figures_json: dict[str, Any],
        *,
        by: str,
        now: datetime,
        narrative: str | None = None,
        response: str | None = None,
    ) -> StoredAnnualReport:
        """Publish the year's report with `figures_json` (figures_json(AnnualReport)) frozen.
        `narrative` and `response`, when given, replace the draft's first (one transaction: a
        manager publishing what they have just typed). Both texts must be there; a published
        year is refused."""
        _check_label(year_label)
        if figures_json.get("year") != year_label:
            raise ValueError(f"figures for {figures_json.get('year')!r}, not {year_label}")
        frozen_figures(figures_json)  # they must read back as they are shown
        given = {
            NARRATIVE: None if narrative is None else _text(narrative, NARRATIVE),
            RESPONSE: None if response is None else _text(response, RESPONSE),
        }

        def publish(row: AnnualReportRow) -> None:
            stored = {NARRATIVE: row.narrative or "", RESPONSE: row.governing_body_response or ""}
            texts = {f: stored[f] if given[f] is None else given[f] for f in (NARRATIVE, RESPONSE)}
            missing = [f for f in (NARRATIVE, RESPONSE) if not texts[f]]
            if missing:
                raise AnnualReportRefused(
                    missing[0],
                    f"Enter {' and '.join(TEXT_NAMES[f] for f in missing)} before publishing",
                )
            if texts != stored:
                _set_texts(row, texts, by, now)
            row.published_at = utc(now)
            row.published_by = by
            row.figures = dict(figures_json)

        return self._change(year_label, publish)

    # -- internals

    def _change(
        self, year_label: str, change: Callable[[AnnualReportRow], None]
    ) -> StoredAnnualReport:
        """`change` the year's row (a new one if there is none yet), refused once published. A
        first row two managers add at once: the second try finds the first's row."""
        for attempt in (1, 2):
            try:
                with self._writing() as s, s.begin():
                    row = s.scalars(
                        select(AnnualReportRow)
                        .where(AnnualReportRow.year_label == year_label)
                        .with_for_update()
                    ).one_or_none()
                    if row is not None and row.published_at is not None:
                        raise _published_refusal(year_label)
                    if row is None:
                        row = AnnualReportRow(year_label=year_label)
                        s.add(row)
                    change(row)
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        found = self.get(year_label)
        assert found is not None
        return found

    def _read(self, *where: Any) -> list[StoredAnnualReport]:
        updater, publisher = aliased(StaffAccount), aliased(StaffAccount)
        query = (
            select(AnnualReportRow, updater.name, publisher.name)
            .join(updater, updater.id == AnnualReportRow.updated_by)
            .outerjoin(publisher, publisher.id == AnnualReportRow.published_by)
            .where(*where)
            .order_by(AnnualReportRow.year_label.desc())
        )
        with self._session() as s:
            return [
                StoredAnnualReport(
                    year_label=row.year_label,
                    narrative=row.narrative,
                    governing_body_response=row.governing_body_response,
                    updated_at=row.updated_at,
                    updated_by=row.updated_by,
                    updated_by_name=updated_name,
                    published_at=row.published_at,
                    published_by=row.published_by,
                    published_by_name=published_name,
                    figures=row.figures,
                )
                for row, updated_name, published_name in s.execute(query)
            ]


def _set_texts(row: AnnualReportRow, texts: dict[str, str], by: str, now: datetime) -> None:
    row.narrative = texts[NARRATIVE]
    row.governing_body_response = texts[RESPONSE]
    row.updated_at = utc(now)
    row.updated_by = by


def _check_label(year_label: str) -> None:
    if not is_year_label(year_label):
        raise ValueError(f"{year_label!r} is not a reporting year, like 2027-28")


__all__ = [
    "MAX_TEXT",
    "NARRATIVE",
    "RESPONSE",
    "AnnualReportRefused",
    "AnnualReportRow",
    "AnnualReports",
    "PublicAnnualReport",
    "StoredAnnualReport",
    "figures_json",
    "frozen_figures",
    "is_year_label",
]
