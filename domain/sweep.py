"""The daily sweep: what it is asked to do and the report it keeps and sends.

The report carries only what search attributes carry (reference, stage, status, next deadline,
owner's staff id): no personal data, so it can be emailed to the team inbox and managers."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.urgency import FOLLOW_UP_KEYS, WAITING_STATUSES

# The documented visibility queries (README "The daily sweep"). At risk is "due soon" by the one
# urgency rule (domain/urgency.py): not overdue, not waiting for the resident (who has the clock
# in those statuses), and `NextDeadline < "<close of business on the Nth working day after the
# sweep day, plus one second>"`, filled in per day (N: the policy's
# `urgency.due_soon_working_days`). Deadlines fall at close of business exactly, and the dev
# server's SQL visibility does not match a datetime equal to the one in the query (so `<=` would
# miss them). A closed case has a next deadline only while what it led to runs on a clock (an
# action, the Ombudsman's request or order), and such a deadline is staff's whatever the status
# (`NextDeadlineKey`): the one rule's FOLLOW_UP_KEYS.
CASES = 'CaseType IN ("complaint", "enquiry")'
OPEN_CASES = f'{CASES} AND ExecutionStatus = "Running"'
OVERDUE_QUERY = f"{OPEN_CASES} AND Overdue = true"
NOT_WAITING = " AND ".join(f'CaseStatus != "{s}"' for s in sorted(WAITING_STATUSES))
FOLLOW_UP = ", ".join(f'"{k}"' for k in sorted(FOLLOW_UP_KEYS))
OWED_BY_STAFF = f"(({NOT_WAITING}) OR NextDeadlineKey IN ({FOLLOW_UP}))"
AT_RISK_QUERY = f"{OPEN_CASES} AND Overdue = false AND {OWED_BY_STAFF} AND NextDeadline < "
LETTERS_FAILING_QUERY = f"{CASES} AND LetterFailing = true"


class DailySweep(BaseModel):
    """The sweep workflow's input. The schedule passes none: the day is today in London.
    `day` sweeps for a given day (by hand, or in tests), still only if it is a working day."""

    model_config = ConfigDict(extra="forbid")

    day: date | None = None


class WorkingDayQuestion(BaseModel):
    day: date | None = None
    at: AwareDatetime  # when the day is not given: the London day of this moment


class WorkingDayAnswer(BaseModel):
    day: date
    working: bool
    reason: str = ""  # why not: "weekend", "bank holiday", "closure day"


class SweepRequest(BaseModel):
    day: date


class SweepCase(BaseModel):
    """One case in a section of the report, from its search attributes only."""

    reference: str
    workflow_id: str
    stage: str | None = None
    status: str | None = None
    next_deadline: datetime | None = None
    owner: str | None = None


class SweepSection(BaseModel):
    title: str
    query: str
    total: int  # how many cases the query matches (cases may be more than `cases` lists)
    cases: list[SweepCase] = Field(default_factory=list)


class SweepReport(BaseModel):
    day: date
    generated_at: datetime
    at_risk_cutoff: datetime  # close of business on the Nth working day after `day`
    overdue: SweepSection
    at_risk: SweepSection
    letters_failing: SweepSection

    @property
    def sections(self) -> list[SweepSection]:
        return [self.overdue, self.at_risk, self.letters_failing]

    @property
    def subject(self) -> str:
        return (
            f"Daily sweep {self.day:%a %d %b %Y}: {self.overdue.total} overdue, "
            f"{self.at_risk.total} at risk, {self.letters_failing.total} with a letter failing"
        )


class SweepResult(BaseModel):
    """What the sweep workflow returns."""

    day: date
    swept: bool
    message: str
    overdue: int = 0
    at_risk: int = 0
    letters_failing: int = 0
    emailed: list[str] = Field(default_factory=list)  # recipient ids: "team", manager ids


class SweepEmailed(BaseModel):
    """Who the day's report went to (recipient id -> letter key), for the workflow's result."""

    day: date
    recipients: list[str]
