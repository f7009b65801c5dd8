"""The daily sweep's reports in the records store: one per day, replaced by a re-run that day,
the ledger of who was emailed kept across re-runs. On SQLite, and PostgreSQL when configured."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.sweep import SweepCase, SweepReport, SweepSection
from records.store import RecordsStore


def report(day: date, overdue: list[str]) -> SweepReport:
    def section(title: str, refs: list[str]) -> SweepSection:
        cases = [SweepCase(reference=r, workflow_id=f"complaint-{r}", stage="stage1") for r in refs]
        return SweepSection(title=title, query="q", total=len(cases), cases=cases)

    return SweepReport(
        day=day,
        generated_at=datetime(2026, 12, 21, 7, tzinfo=UTC),
        at_risk_cutoff=datetime(2026, 12, 22, 17, 15, tzinfo=UTC),
        overdue=section("Overdue", overdue),
        at_risk=section("At risk", []),
        letters_failing=section("Letters failing", []),
    )


def test_one_report_per_day_replaced_by_a_rerun(store: RecordsStore) -> None:
    monday, tuesday = date(2026, 12, 21), date(2026, 12, 22)
    assert store.sweep_report(monday) is None
    store.save_sweep_report(report(monday, ["CMP-AAAA-0001"]))
    store.mark_sweep_emailed(monday, "team", {"letter_key": "sweep-2026-12-21-team"})
    store.save_sweep_report(report(monday, ["CMP-AAAA-0001", "CMP-AAAA-0002"]))
    store.save_sweep_report(report(tuesday, []))

    again = store.sweep_report(monday)
    assert again is not None
    assert [c.reference for c in again.overdue.cases] == ["CMP-AAAA-0001", "CMP-AAAA-0002"]
    assert [r.day for r in store.latest_sweep_reports(5)] == [tuesday, monday]
    assert [r.day for r in store.latest_sweep_reports(1)] == [tuesday]
    # who was sent the report survives the re-run; the first sending stands
    store.mark_sweep_emailed(monday, "team", {"letter_key": "other"})
    assert store.sweep_emailed(monday) == {"team": {"letter_key": "sweep-2026-12-21-team"}}
    assert store.sweep_emailed(tuesday) == {}


def test_marking_an_unsaved_day_is_refused(store: RecordsStore) -> None:
    with pytest.raises(LookupError, match="No sweep report"):
        store.mark_sweep_emailed(date(2026, 12, 21), "team", {})
