"""Every promise the landlord's two texts make, as the performance report counts them.

The complaints policy promises contact, acknowledgement and a response at each stage; the
customer service standards promise a reply to each channel by a set time, and a team's update.
What a complaint led to is counted too: actions done by the day a response promised, and the
Housing Ombudsman's requests and orders met by their due dates.

A promise is counted on its clocks (the `case_clocks` rows, one a clock a case): each clock due
in the period that is settled, met or missed. A clock is met when it was met by its due moment
(after any extension: the report counts extensions on their own line); missed when it was
breached or met after it; a clock the case stopped before it fell due (a withdrawal, a closure)
counts for nothing, and one still running is not yet due. The numbers in each label are the
policy's, so the report reads as the landlord's own texts do.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field, computed_field

from domain.channels import EnquiryChannel
from domain.clocks import ClockKey
from domain.enquiry import CHANNEL_LABELS
from domain.people import Strict
from domain.policy import Policy


class Outcome:
    """What became of a clock, as `case_clocks.outcome` keeps it."""

    met = "met"
    missed = "missed"
    stopped = "stopped"  # the case moved on or closed before the clock fell due
    lapsed = "lapsed"  # the resident's window ran out (the escalation window)
    open = "open"


class Promise(Strict):
    """One promise, counted on the clocks of `key` (an enquiry's reply: of one channel)."""

    id: str
    label: str
    text: str  # which of the landlord's texts makes the promise
    key: ClockKey
    channel: str | None = None


COMPLAINTS_POLICY = "Complaints policy"
STANDARDS = "Customer service standards"
WHAT_IT_LED_TO = "What a complaint led to"


def _days(n: int) -> str:
    return "1 working day" if n == 1 else f"{n} working days"


def _reply(n: int) -> str:
    return "by the end of the next working day" if n == 1 else f"within {_days(n)}"


def promises(policy: Policy) -> list[Promise]:
    """The promises, in the order the texts make them, labelled with `policy`'s numbers."""
    c = policy.complaints
    complaint = [
        (ClockKey.s1_contact, f"Stage 1: contact the resident within {_days(c.stage1_contact)}"),
        (
            ClockKey.s1_acknowledgement,
            f"Stage 1: acknowledge the complaint within {_days(c.stage1_acknowledgement)}",
        ),
        (ClockKey.s1_response, f"Stage 1: respond within {_days(c.stage1_response)}"),
        (ClockKey.s2_contact, f"Stage 2: contact the resident within {_days(c.stage2_contact)}"),
        (
            ClockKey.s2_acknowledgement,
            f"Stage 2: acknowledge the request within {_days(c.stage2_acknowledgement)}",
        ),
        (ClockKey.s2_response, f"Stage 2: respond within {_days(c.stage2_response)}"),
    ]
    out = [
        Promise(id=key.value, label=label, text=COMPLAINTS_POLICY, key=key)
        for key, label in complaint
    ]
    for channel in EnquiryChannel:
        days = policy.enquiries.reply_working_days[channel.value]
        out.append(
            Promise(
                id=f"enquiry_reply:{channel.value}",
                label=f"{CHANNEL_LABELS[channel]}: reply {_reply(days)}",
                text=STANDARDS,
                key=ClockKey.enquiry_reply,
                channel=channel.value,
            )
        )
    team = policy.enquiries.team_update
    out.append(
        Promise(
            id=ClockKey.team_reply.value,
            label=f"A team we passed an enquiry to: update the resident within {_days(team)}",
            text=STANDARDS,
            key=ClockKey.team_reply,
        )
    )
    for key, label in (
        (ClockKey.remedy_action, "Actions a response promised: done by the day promised"),
        (ClockKey.ombudsman_evidence, "The Housing Ombudsman's requests for evidence: on time"),
        (ClockKey.ombudsman_order, "The Housing Ombudsman's orders: complied with on time"),
    ):
        out.append(Promise(id=key.value, label=label, text=WHAT_IT_LED_TO, key=key))
    return out


class PromiseFigures(Strict):
    """How one promise was kept in a period (or a month of it)."""

    promise: str
    label: str
    text: str
    due: int = 0  # settled clocks due in the period: met + missed
    met: int = 0
    missed: int = 0
    extended: int = 0  # of those due, how many had their due date extended
    exceptional: int = 0  # ... beyond the standard extension, with the resident's agreement
    median_working_days: float | None = None  # from the day counted from to the day met

    @computed_field  # type: ignore[prop-decorator]
    @property
    def percent_met(self) -> float | None:
        return None if not self.due else round(100 * self.met / self.due, 1)


class MonthFigures(Strict):
    month: str  # YYYY-MM
    promises: list[PromiseFigures]


class PromiseReport(Strict):
    """Performance against every promise for a period, and month by month within it."""

    start: date
    end: date
    policy: str  # the policy whose numbers label the promises (name and version)
    promises: list[PromiseFigures]
    months: list[MonthFigures] = Field(default_factory=list)
