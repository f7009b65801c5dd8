"""Building blocks for the pure step-rule tests: policies, clocks and case states, no Temporal."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from activities.deadlines import calendar_for, plan
from domain.clocks import CLOCK_LABELS, Clock, ClockKey, DeadlineRule
from domain.policy import Policy, parse_policy

REPO = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
WEST_KENT = parse_policy((REPO / "policy" / "west-kent.toml").read_text(), "west-kent.toml")
OMBUDSMAN_CODE = parse_policy(
    (REPO / "policy" / "ombudsman-code.toml").read_text(), "ombudsman-code.toml"
)


def london(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON)


def with_numbers(policy: Policy, section: str, **numbers: Any) -> Policy:
    part = getattr(policy, section).model_copy(update=numbers)
    return policy.model_copy(update={section: part})


def planned_clock(
    policy: Policy,
    key: ClockKey,
    after: datetime | None = None,
    days: int | None = None,
    on: date | None = None,
) -> Clock:
    """A clock as the workflow would set it, planned by the deadlines activity's own code."""
    rule = (
        DeadlineRule(key=key, on_date=on)
        if on
        else DeadlineRule(key=key, after=after, working_days=days)
    )
    p = plan(rule, calendar_for(policy.calendar))
    return Clock(
        key=key,
        label=CLOCK_LABELS[key],
        due=p.due,
        due_day=p.due_day,
        remind_at=p.remind_at,
        original_due=p.due,
    )
