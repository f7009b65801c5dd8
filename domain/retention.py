"""Data protection as rules: when a closed case's personal data is due to go, and what a case,
its timeline and a person look like once anonymised. Pure: the records do the writing
(records/retention.py), the retention job decides when (workflows/retention.py).

- **Retention.** A closed case is kept `retention.complaint_years` or `retention.enquiry_years`
  whole years after the day it closed, by the policy it was lodged under when that policy has a
  `[retention]` section, else by the current policy's (`retention_for`).
- **Anonymised.** Names, contact details and free text become `MARKER`; what reports count
  (dates, stage, status, category, tenure, outcomes, clocks, compensation amounts, the reason a
  complaint was declined) stays, so the reports' figures do not change.
- **Why.** `retention` (the job) or `erasure` (a manager, for the person's request).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.policy import Policy, RetentionPolicy

MARKER = "[anonymised]"
JOB = "retention-job"  # who anonymised a case, when it was the scheduled job
SCHEDULE_ID = "retention"
BATCH_SIZE = 50  # cases a batch looks at: one activity, one transaction per case


class Why(StrEnum):
    retention = "retention"
    erasure = "erasure"


def years_after(moment: datetime, years: int) -> datetime:
    """The same instant `years` calendar years on (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


def retention_for(kind: str, own: Policy | None, current: Policy) -> tuple[int, str] | None:
    """Years a closed case of `kind` is kept, and whose rule it is ("own" or "current"): its
    own policy's `[retention]` when it has one, else the current policy's; None when neither
    says (nothing is anonymised by retention)."""
    if own is not None and own.retention is not None:
        return own.retention.years(kind), "own"
    if current.retention is not None:
        return current.retention.years(kind), "current"
    return None


def due_at(closed_at: datetime, retention: RetentionPolicy | int, kind: str = "") -> datetime:
    years = retention if isinstance(retention, int) else retention.years(kind)
    return years_after(closed_at, years)


def shortest_years(policies: list[Policy]) -> int | None:
    """The fewest years any of these policies keeps any case: the job looks only at cases
    closed at least that long ago."""
    found = [
        y
        for p in policies
        if p.retention is not None
        for y in (p.retention.complaint_years, p.retention.enquiry_years)
    ]
    return min(found) if found else None


# ------------------------------------------------------------------ what an anonymised case keeps

# Keys whose value is a person's name, contact details or words of their own (or about them):
# a string becomes MARKER, a list of strings a list of MARKERs (so "3 points" is still 3).
FREE_TEXT = frozenset(
    {
        "description",
        "points",
        "point",
        "outcome_sought",
        "message",
        "subject",
        "notes",
        "note",
        "reasons",
        "summary",
        "apology",
        "action",
        "findings",
        "evidence",
        "suggested_public_reply",
        "service_request",
        "addressed_to",
        "acting_for",
        "reasonable_adjustments",
        "details",
        "text",
        "comment",
        "owner",  # an action's "who does it", as typed
    }
)
# The person a case is about: these keys go altogether (None), the name becomes MARKER.
CONTACT = frozenset({"email", "phone", "address", "social_handle", "adjustments"})
PERSON_KEYS = ("resident", "enquirer")


def _scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in FREE_TEXT:
            return [MARKER if isinstance(v, str) else _scrub(v) for v in value]
        return [_scrub(v) for v in value]
    if isinstance(value, str) and key in FREE_TEXT and value:
        return MARKER
    return value


# What stands in for an address: the case's record must still read as a case (a resident is
# written to by email or post), and nothing in it is anyone's.
MARKER_ADDRESS = {"lines": [MARKER], "postcode": "[anon]"}


def anonymised_person(found: dict[str, Any]) -> dict[str, Any]:
    """A case's resident or enquirer with nothing left that identifies them: the name and
    address are MARKER, other contact details and needs gone; whether a third party acted (what
    the reports and the case's shape need) stays."""
    kept = {k: v for k, v in found.items() if k not in CONTACT}
    kept.update({k: None for k in CONTACT if k in found})
    kept["name"] = MARKER
    kept["address"] = dict(MARKER_ADDRESS)
    kept["preferred_contact"] = "post"
    for key in ("acting_for", "reasonable_adjustments"):
        if kept.get(key):
            kept[key] = MARKER
    return kept


def anonymised_case_data(data: dict[str, Any]) -> dict[str, Any]:
    """A case's recorded data (`cases.data`) with its personal data replaced: the resident or
    enquirer (`anonymised_person`) and every free text (`FREE_TEXT`)."""
    out = _scrub(data)
    for key in PERSON_KEYS:
        if isinstance(data.get(key), dict):
            out[key] = anonymised_person(data[key])
    if "property_reference" in data:
        out["property_reference"] = None
    return out


# A timeline entry's details that reports read: kept as they are (keys and enum values only).
KEPT_DETAILS: dict[str, tuple[str, ...]] = {"decline": ("reason",)}


def anonymised_event(step: str, details: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A timeline entry's summary and details once anonymised: the step and when stay."""
    kept = {k: details[k] for k in KEPT_DETAILS.get(step, ()) if k in details}
    return MARKER, kept


ITEM_KEYS = ("review_on", "restriction", "vulnerability")  # enum values and dates


def anonymised_item(data: dict[str, Any]) -> dict[str, Any]:
    """A person record's adjustment, vulnerability or restriction: its kind and dates stay (the
    keys of its model), every word about the person goes."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None or isinstance(value, bool | int | float) or key in ITEM_KEYS:
            out[key] = value
        else:
            out[key] = MARKER if isinstance(value, str) else None
    return out


# ------------------------------------------------------------------ the job and erasure


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RetentionSweep(_Model):
    """The retention job's input (the Schedule gives none). `after` and `done`: where a run
    that continued as new carries on, and how many it had anonymised."""

    after: str = ""
    done: int = 0
    batches: int = 0


class RetentionBatch(_Model):
    """One batch: the cases after reference `after` (in reference order), as of `at`."""

    after: str = ""
    at: datetime
    limit: int = Field(default=BATCH_SIZE, ge=1, le=1000)


class Skipped(_Model):
    reference: str
    why: str  # "running", "not due until <date>", "no retention period"


class RetentionBatchDone(_Model):
    anonymised: list[str] = Field(default_factory=list)
    persons: list[str] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    next_after: str | None = None  # None: no more cases to look at
    looked_at: int = 0


class RetentionProgress(_Model):
    done: int
    batches: int
    after: str
    finished: bool


class ErasureBasis(StrEnum):
    """What a manager confirms before an erasure request is carried out (UK GDPR article 17)."""

    identity_checked = "identity_checked"
    no_longer_necessary = "no_longer_necessary"
    no_legal_claim = "no_legal_claim"
    no_legal_obligation = "no_legal_obligation"


ERASURE_CHECKS: dict[ErasureBasis, str] = {
    ErasureBasis.identity_checked: "We have checked the identity of the person asking",
    ErasureBasis.no_longer_necessary: (
        "Their personal data is no longer needed for the purpose we collected it for, or they "
        "withdrew the consent it rested on, or they objected and we have no overriding reason"
    ),
    ErasureBasis.no_legal_claim: (
        "We do not need it to make or defend a legal claim (no claim, disrepair case or "
        "Ombudsman investigation is open or expected)"
    ),
    ErasureBasis.no_legal_obligation: "No law requires us to keep it",
}


class Refusal(_Model):
    """A case that could not be erased, and why, in words for staff."""

    reference: str
    why: str


def erasure_refusal(
    kind: str,
    stage_closed: bool,
    running: bool,
    closed_at: datetime | None,
    referral_window_days: int | None,
    now: datetime,
) -> str | None:
    """Why a case cannot be erased now (None: it can): it is still open or its workflow runs
    on (a promised action, compensation or the Ombudsman is still on a clock), or it is a
    complaint within the Ombudsman referral window of its policy (the resident may still take
    it to the Ombudsman, who will ask us for the file)."""
    if not stage_closed or closed_at is None:
        return "it is still open; close it first (or wait for it to close)"
    if running:
        return (
            "it is closed but still running: something it promised, or the Ombudsman, is "
            "still on a clock"
        )
    if kind == "complaint" and referral_window_days:
        until = closed_at + timedelta(days=referral_window_days)
        if now < until:
            return (
                "it may still be referred to the Housing Ombudsman until "
                f"{until.date():%d %B %Y}, who would ask us for its records"
            )
    return None


def today_in(moment: datetime) -> date:
    return moment.date()
