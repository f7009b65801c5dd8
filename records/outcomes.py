"""Each point's decision at each stage of a complaint, with its root cause: one row a point, so
reports count root causes and outcomes with plain SQL (`GROUP BY root_cause`) on SQLite and
PostgreSQL alike, rather than digging into each case's JSON.

A table of its own module so the other records tables' file is left to them; records/__init__.py
imports the store, which imports this, so `Base.metadata` always holds it (migration 0007).
"""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from records.schema import Base


class CasePointOutcome(Base):
    """One point of a complaint answered at a stage, rewritten from each newer snapshot of the
    case (a point is decided once a stage; the stage 2 review decides the points again)."""

    __tablename__ = "case_point_outcomes"
    __table_args__ = (UniqueConstraint("reference", "stage", "point_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(40), ForeignKey("cases.reference"))
    stage: Mapped[int] = mapped_column(Integer)  # 1 or 2
    point_index: Mapped[int] = mapped_column(Integer)  # from 0, in the response's order
    decision: Mapped[str] = mapped_column(String(20))  # upheld, partly_upheld, not_upheld
    root_cause: Mapped[str | None] = mapped_column(String(60), index=True)  # a policy key
