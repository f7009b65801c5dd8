"""The Regulator of Social Housing's Tenant Satisfaction Measures on complaints, CH01 and CH02,
for a reporting year (1 April to 31 March), separately for low-cost rental accommodation (LCRA)
and low-cost home ownership (LCHO).

- CH01(1): stage 1 complaints from tenants of that stock received in the year, per 1,000 homes
  of that stock; CH01(2) the same for stage 2 (complaints escalated in the year).
- CH02(1): stage 1 complaints responded to within the Complaint Handling Code's timescales (the
  due date plus any standard extension) as a % of the stage 1 complaints responded to in the
  year; CH02(2) the same for stage 2.

The rules the figures follow (stated on the report's face, `counting_rules`): declined
complaints and service requests are left out; withdrawn complaints count as received; a
complaint not yet accepted or declined is not counted yet; an exceptional extension (beyond the
standard one, agreed with the resident) is shown on its own line and counts as outside the
timescale. The homes of each stock come from the homes file (`HOMES_FILE`), one entry a year.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from pydantic import Field, field_validator

from domain.complaint import Tenure
from domain.people import Strict
from domain.policy import Policy, parse_toml_model

STOCKS: dict[str, Tenure] = {"LCRA": Tenure.social_rent, "LCHO": Tenure.shared_ownership}


def counting_rules(policy: Policy) -> tuple[str, ...]:
    """The rules, as the report states them, with `policy`'s standard extensions."""
    c = policy.complaints
    return (
        *COUNTING_RULES[:3],
        "Within the Code's timescales means sent by the due date plus any standard extension "
        f"(up to {c.stage1_extension_cap} working days at stage 1, {c.stage2_extension_cap} at "
        "stage 2). A response after an exceptional extension agreed with the resident is shown "
        "on its own line and counts as outside the timescales.",
        COUNTING_RULES[3],
    )


COUNTING_RULES = (
    "Stage 1 complaints count in the year they were received; stage 2 complaints in the year "
    "they were escalated; responses in the year they were sent.",
    "Complainants are counted by the tenure recorded on the complaint: social rent is LCRA, "
    "shared ownership LCHO. Leaseholders, people who are not residents and complaints with no "
    "tenure recorded are in neither.",
    "Declined complaints and service requests are left out. Withdrawn complaints count as "
    "received. A complaint still awaiting triage is not counted yet.",
    "Per 1,000 homes uses the homes of that stock set for the year in the homes file.",
)


class Stock(Strict):
    LCRA: int = Field(ge=0, le=10_000_000)
    LCHO: int = Field(ge=0, le=10_000_000)


YEAR_PATTERN = re.compile(r"^(\d{4})-(\d{2})$")


class HomeCounts(Strict):
    """Homes of each stock, by reporting year ("2027-28")."""

    years: dict[str, Stock] = Field(default_factory=dict)

    @field_validator("years")
    @classmethod
    def _years(cls, value: dict[str, Stock]) -> dict[str, Stock]:
        for label in value:
            found = YEAR_PATTERN.match(label)
            if not found or (int(found.group(1)) + 1) % 100 != int(found.group(2)):
                raise ValueError(f'"{label}": write a reporting year as "2027-28"')
        return value

    def for_year(self, year: int) -> Stock | None:
        return self.years.get(year_label(year))


class HomesError(ValueError):
    """A homes file that cannot be used; the message names the key and what is wrong."""


def parse_homes(text: str, source: str = "homes file") -> HomeCounts:
    return parse_toml_model(text, HomeCounts, source, HomesError)


def year_label(year: int) -> str:
    """The reporting year starting on 1 April `year`: "2027-28"."""
    return f"{year}-{(year + 1) % 100:02d}"


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


class Ch01(Strict):
    stage1: int = 0
    stage2: int = 0
    homes: int | None = None  # none set for the year
    stage1_per_1000: float | None = None
    stage2_per_1000: float | None = None


class Ch02Stage(Strict):
    responded: int = 0
    within: int = 0
    exceptional: int = 0  # after an exceptional extension: outside the timescales
    percent: float | None = None


class Ch02(Strict):
    stage1: Ch02Stage = Field(default_factory=Ch02Stage)
    stage2: Ch02Stage = Field(default_factory=Ch02Stage)


class TsmReport(Strict):
    year: str
    start: date
    end: date
    CH01: dict[str, Ch01]
    CH02: dict[str, Ch02]
    rules: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """The shape `python -m starter report tsm --json` prints."""
        return {
            "year": self.year,
            "from": self.start.isoformat(),
            "to": self.end.isoformat(),
            "CH01": {k: v.model_dump() for k, v in self.CH01.items()},
            "CH02": {k: v.model_dump() for k, v in self.CH02.items()},
            "rules": list(self.rules),
        }


def per_1000(count: int, homes: int | None) -> float | None:
    return None if not homes else round(1000 * count / homes, 2)


def percent(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 1)
