"""The landlord's policy as configuration: every number its complaints policy and customer service
standards promise, the calendar they are counted on, and the names letters are signed with.

A `Policy` is read from a TOML file (`POLICY_FILE`; the repo ships `policy/west-kent.toml` and
`policy/ombudsman-code.toml`). Each case records the policy it was lodged under (name, version,
content hash, and the numbers themselves) and keeps it for life: editing the file changes new
cases only, never a running case's clocks or a replay.

Pure: parsing TOML text is here; reading the file is the configuration module's job.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from datetime import date, time
from enum import StrEnum
from functools import cache, cached_property
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from domain.channels import EnquiryChannel


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weekday(StrEnum):
    monday = "monday"
    tuesday = "tuesday"
    wednesday = "wednesday"
    thursday = "thursday"
    friday = "friday"
    saturday = "saturday"
    sunday = "sunday"


WEEKDAY_NUMBER = {day: n for n, day in enumerate(Weekday)}


class OfficeDay(_Section):
    opens: time
    closes: time

    @model_validator(mode="after")
    def _opens_first(self) -> OfficeDay:
        if self.opens.tzinfo or self.closes.tzinfo:
            raise ValueError("give local wall-clock times, without a time zone")
        if not self.opens < self.closes:
            raise ValueError(
                f"opens at {self.opens:%H:%M}, which is not before {self.closes:%H:%M}"
            )
        return self


class CalendarPolicy(_Section):
    """What counts as a working day, and when a contact counts as received."""

    timezone: str = Field(min_length=1)
    bank_holidays_country: str = Field(min_length=2, max_length=3)
    bank_holidays_subdivision: str | None = None
    office_hours: dict[Weekday, OfficeDay] = Field(min_length=1)
    closure_days: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"{value!r} is not a time zone name such as Europe/London") from err
        return value

    def closing_text(self) -> str:
        """When a contact stops counting today, as forms tell staff: "17:15 (16:45 on a Friday)"."""
        closes = [(day, hours.closes) for day, hours in self.office_hours.items()]
        usual = max({c for _, c in closes}, key=[c for _, c in closes].count)
        others = [f"{c:%H:%M} on a {d.value.capitalize()}" for d, c in closes if c != usual]
        return f"{usual:%H:%M}" + (f" ({', '.join(others)})" if others else "")

    def weekday_hours(self) -> dict[int, tuple[time, time]]:
        return {WEEKDAY_NUMBER[d]: (h.opens, h.closes) for d, h in self.office_hours.items()}


class ComplaintPolicy(_Section):
    """The two-stage complaints process, in working days unless named otherwise."""

    stage1_contact: int = Field(ge=1, le=60)
    stage1_acknowledgement: int = Field(ge=1, le=60)
    stage1_response: int = Field(ge=1, le=120)
    stage1_extension_cap: int = Field(ge=0, le=120)
    escalation_window: int = Field(ge=1, le=260)
    late_escalation_grace_days: int = Field(ge=0, le=730, description="calendar days")
    stage2_contact: int = Field(ge=1, le=60)
    stage2_acknowledgement: int = Field(ge=1, le=60)
    stage2_response: int = Field(ge=1, le=120)
    stage2_extension_cap: int = Field(ge=0, le=120)
    time_limit_months: int = Field(ge=1, le=120, description="from the incident or awareness")


class EnquiryPolicy(_Section):
    """The customer service standards' reply clocks, in working days from the receipt day."""

    reply_working_days: dict[str, int]
    team_update: int = Field(ge=1, le=60)
    holding_reply_horizon_days: int = Field(ge=1, le=366, description="calendar days")

    @field_validator("reply_working_days")
    @classmethod
    def _every_channel(cls, value: dict[str, int]) -> dict[str, int]:
        channels = {c.value for c in EnquiryChannel}
        unknown = sorted(set(value) - channels)
        missing = sorted(channels - set(value))
        if unknown:
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}")
        if missing:
            raise ValueError(f"give a reply clock for {', '.join(missing)}")
        bad = sorted(k for k, v in value.items() if not 1 <= v <= 60)
        if bad:
            raise ValueError(f"{', '.join(bad)}: give 1 to 60 working days")
        return value


class ReminderPolicy(_Section):
    lead_working_days: int = Field(ge=0, le=5, description="before the due day")
    one_day_clock_lead_working_days: int = Field(ge=0, le=1)


class UrgencyPolicy(_Section):
    due_soon_working_days: int = Field(ge=1, le=10)


class Team(_Section):
    name: str = Field(min_length=1, max_length=200)
    signature: str = Field(min_length=1, max_length=200)


class TeamsPolicy(_Section):
    resolution: Team  # complaints, and enquiries to the chief executive or a director
    services: Team  # signs replies to enquiries


class OmbudsmanPolicy(_Section):
    """How long a closed complaint is kept open to the Housing Ombudsman's involvement."""

    referral_window_days: int = Field(
        ge=0, le=1100, description="calendar days after closure a referral can still be recorded"
    )


class RetentionPolicy(_Section):
    """How long a closed case's personal data is kept before the retention job anonymises it
    (domain/retention.py): whole years after the day it closed."""

    complaint_years: int = Field(ge=1, le=100, description="years after a complaint closes")
    enquiry_years: int = Field(ge=1, le=100, description="years after an enquiry closes")

    def years(self, kind: str) -> int:
        return self.enquiry_years if kind == "enquiry" else self.complaint_years


KEY_PATTERN = r"^[a-z][a-z0-9_]{0,59}$"


def _check_labels(value: dict[str, str] | None) -> dict[str, str] | None:
    """A list of keys and labels for reporting (categories, root causes): keys are what records
    keep and reports count, so they are short snake_case words; labels are what staff see."""
    if value is None:
        return None
    if not value:
        raise ValueError("give at least one, or leave the section out")
    bad_keys = sorted(k for k in value if not re.fullmatch(KEY_PATTERN, k))
    if bad_keys:
        raise ValueError(
            f"{', '.join(bad_keys)}: a key is lower case letters, digits and _ (up to 60), "
            "starting with a letter"
        )
    bad_labels = sorted(k for k, v in value.items() if not v.strip() or len(v) > 200)
    if bad_labels:
        raise ValueError(f"{', '.join(bad_labels)}: give a label of 1 to 200 characters")
    return value


# Sections added after cases began carrying their policy. A case lodged under a policy without
# them keeps working as it was (nothing required); they are left out of the content hash while
# unset, so such a policy's hash is what it always was.
LATER_SECTIONS = ("categories", "root_causes", "ombudsman", "retention")


class Policy(_Section):
    name: str = Field(min_length=1, max_length=200)
    version: str = Field(min_length=1, max_length=40)
    calendar: CalendarPolicy
    complaints: ComplaintPolicy
    enquiries: EnquiryPolicy
    reminders: ReminderPolicy
    urgency: UrgencyPolicy
    teams: TeamsPolicy
    # The service areas a complaint is counted under (key -> label), in the order staff see them.
    # With a list, every complaint needs a category before its response.
    categories: dict[str, str] | None = None
    # Why an upheld or partly upheld point went wrong (key -> label). With a list, every such
    # point needs one at the response.
    root_causes: dict[str, str] | None = None
    # With it, a closed complaint is kept (its workflow runs on) for the referral window, so a
    # referral to the Ombudsman and its requests and orders are recorded on the case itself.
    ombudsman: OmbudsmanPolicy | None = None
    # How long closed cases keep their personal data (the retention job, workflows/retention.py).
    retention: RetentionPolicy | None = None

    @field_validator("categories", "root_causes")
    @classmethod
    def _keys_and_labels(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return _check_labels(value)

    @cached_property
    def content_hash(self) -> str:
        """sha256 of the policy's canonical JSON: two files that say the same thing match."""
        data = self.model_dump(mode="json")
        for key in LATER_SECTIONS:
            if data.get(key) is None:
                data.pop(key, None)
        canonical = json.dumps(data, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.name}, version {self.version}"

    def stamp(self) -> PolicyStamp:
        return PolicyStamp(name=self.name, version=self.version, hash=self.content_hash[:12])


class PolicyStamp(_Section):
    """Which policy a case runs under, as the case page, the status query and records show it."""

    name: str
    version: str
    hash: str


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the key and what is wrong."""


M = TypeVar("M", bound=BaseModel)


def parse_toml_model(
    text: str, model: type[M], source: str, error: type[ValueError] = ValueError
) -> M:
    """A TOML file's text as `model`; `error` names the source, each key and what is wrong."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"{source}: not valid TOML: {err}") from err
    try:
        return model.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"]) or "(top level)"
            problems.append(f"{key}: {e['msg']}")
        raise error(f"{source}: " + "; ".join(problems)) from err


def parse_policy(text: str, source: str = "policy file") -> Policy:
    return parse_toml_model(text, Policy, source, PolicyError)


# The numbers every case lodged before cases carried their own policy ran under (the West Kent
# policy of 2024). Kept so those cases, and replays of them, go on exactly as they were lodged.
# Never edit: change the policy file instead, which reaches new cases only.
LEGACY_POLICY_TOML = """
name = "West Kent complaints policy and customer service standards (before policy files)"
version = "legacy"

[calendar]
timezone = "Europe/London"
bank_holidays_country = "GB"
bank_holidays_subdivision = "ENG"
office_hours.monday = { opens = "08:45", closes = "17:15" }
office_hours.tuesday = { opens = "08:45", closes = "17:15" }
office_hours.wednesday = { opens = "08:45", closes = "17:15" }
office_hours.thursday = { opens = "08:45", closes = "17:15" }
office_hours.friday = { opens = "08:45", closes = "16:45" }

[complaints]
stage1_contact = 3
stage1_acknowledgement = 5
stage1_response = 10
stage1_extension_cap = 10
escalation_window = 20
late_escalation_grace_days = 90
stage2_contact = 3
stage2_acknowledgement = 5
stage2_response = 20
stage2_extension_cap = 20
time_limit_months = 12

[enquiries]
team_update = 5
holding_reply_horizon_days = 92
[enquiries.reply_working_days]
online_form = 1
help_email = 1
social_media = 1
team_email = 5
letter = 5
callback = 5
phone = 1
in_person = 1

[reminders]
lead_working_days = 1
one_day_clock_lead_working_days = 0

[urgency]
due_soon_working_days = 2

[teams]
resolution = { name = "Customer resolution team", signature = "Customer Resolution Team" }
services = { name = "Customer services team", signature = "Customer Services Team" }
"""


@cache
def legacy_policy() -> Policy:
    return parse_policy(LEGACY_POLICY_TOML, "legacy policy")
