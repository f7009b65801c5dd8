"""How long the reports take for a year of a large landlord: performance against every promise
(records/reports.py `promise_report`, by month) and the Tenant Satisfaction Measures (`tsm_report`)
over a records database holding the reporting year 2027-28 (1 April 2027 to 31 March 2028), as
the records stand in mid-April 2028.

    .venv/bin/python bench/reports.py [--complaints 30000 --enquiries 300000 --homes 125000]
        [--database-url URL] [--postgres-url URL] [--repeat 5] [--explain]

Rows are generated straight into `cases` and `case_clocks` with bulk INSERTs (recording each case
through RecordsStore.record would take hours at this size), consistently: each clock's due day,
the day it counts from, the day it was met and its outcome follow the shipped policy's working
days (policy/west-kent.toml); names are "Resident 123", postcodes fake (ZZ9x). The same rows
(a fixed seed) go to SQLite (a fresh file in a temp dir unless --database-url) and, if a URL is
given or TEST_DATABASE_URL is set, to PostgreSQL in a schema of its own, dropped at the end.

Each report is timed beside its anchor, a plain GROUP BY count over the table it reads, measured
in the same run, round by round; the goal is each report under 1 s at that size and within 5x its
anchor. One more run of each report times its SQL statements one by one. Run by hand; nothing
asserts on it.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config import Settings
from domain.channels import EnquiryChannel
from domain.clocks import CLOCK_LABELS, ClockKey
from domain.complaint import ClosureReason, Stage, Status, Tenure
from domain.enquiry import EnquiryOutcome, EnquiryState
from domain.people import Channel
from domain.policy import Policy
from domain.promises import Outcome
from domain.tsm import HomeCounts, Stock, year_bounds, year_label
from domain.working_days import WorkingCalendar
from records.clocks import CaseClock
from records.reports import promise_report, tsm_report
from records.schema import Case, postcode_key
from records.store import RecordsStore

YEAR = 2027
START, END = year_bounds(YEAR)
BATCH = 5_000
ONE_DAY = timedelta(days=1)
GOAL_SECONDS = 1.0
GOAL_RATIO = 5.0
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # domain/references.py

CLOCKS_ANCHOR = "SELECT key, count(*) FROM case_clocks GROUP BY key"
CASES_ANCHOR = "SELECT kind, count(*) FROM cases GROUP BY kind"
# the statements each report runs, in order (records/reports.py)
STATEMENTS = {
    "promise_report": ("figures",),
    "tsm_report": ("received", "escalated", "responses"),
}


# ------------------------------------------------------------------------ the working calendar


class Days:
    """The policy's calendar, looked up rather than counted: working days in order, each day's
    place among them, close of business and opening time in UTC, and the London offset."""

    def __init__(self, policy: Policy, first: date, last: date) -> None:
        calendar = WorkingCalendar.from_policy(policy.calendar)
        self.working: list[date] = []
        self.floor: dict[date, int] = {}  # index of the last working day on or before the day
        self.opens: dict[date, datetime] = {}
        self.cob: dict[date, datetime] = {}
        self.close_local: dict[date, int] = {}  # seconds after local midnight
        self.offset: dict[date, timedelta] = {}
        day = first
        while day <= last:
            noon = datetime(day.year, day.month, day.day, 12, tzinfo=calendar.tz)
            self.offset[day] = noon.utcoffset() or timedelta()
            if calendar.is_working_day(day):
                self.working.append(day)
                closes = calendar.close_of_business(day)
                self.cob[day] = closes.astimezone(UTC)
                self.opens[day] = calendar.opening_time(day).astimezone(UTC)
                self.close_local[day] = closes.hour * 3600 + closes.minute * 60
            self.floor[day] = len(self.working) - 1
            day += ONE_DAY

    def add(self, day: date, n: int) -> date:
        """The nth working day after `day` (n >= 1), or `day` itself (n = 0, a working day)."""
        return self.working[self.floor[day] + n]

    def index(self, day: date) -> int:
        return self.floor[day]

    def on_or_before(self, day: date) -> date:
        return self.working[self.floor[day]]

    def local(self, day: date, seconds: float) -> datetime:
        """`seconds` after midnight on `day` in London, as UTC."""
        midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
        return midnight + timedelta(seconds=seconds) - self.offset[day]

    def received_on(self, day: date, seconds: float) -> date:
        if day in self.cob and seconds <= self.close_local[day]:
            return day
        return self.working[self.floor[day] + 1]

    def during(self, rng: random.Random, day: date, earliest: datetime | None = None) -> datetime:
        """A moment in office hours on working day `day`, not before `earliest`."""
        lo, hi = self.opens[day], self.cob[day]
        if earliest is not None and earliest + timedelta(minutes=1) > lo:
            lo = earliest + timedelta(minutes=1)
        if lo >= hi:
            return lo
        return lo + (hi - lo) * rng.random()


# --------------------------------------------------------------------------- the generated rows


def reference(prefix: str, n: int) -> str:
    """A reference of the real shape (CMP-XXXX-XXXX), unique for each n below 32^8."""
    value = (n * 0x9E3779B1 + 0x5BD1E995) % 32**8
    body = "".join(ALPHABET[(value >> (5 * i)) & 31] for i in range(7, -1, -1))
    return f"{prefix}-{body[:4]}-{body[4:]}"


class Clocks:
    """The clocks of one case as its whole history would leave them; `settled` then cuts them to
    what the records say at the moment the data stands at."""

    def __init__(self, ref: str, channel: str) -> None:
        self.ref, self.channel = ref, channel
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        days: Days,
        key: ClockKey,
        due_day: date,
        created: datetime,
        *,
        started_on: date | None,
        item: int | None = None,
        original_due_day: date | None = None,
        extensions: int = 0,
        extended_by: int = 0,
        exceptional: bool = False,
    ) -> dict[str, Any]:
        row = {
            "reference": self.ref,
            "clock": key.value if item is None else f"{key.value}:{item}",
            "key": key.value,
            "item": item,
            "channel": self.channel,
            "due": days.cob[due_day],
            "due_day": due_day,
            "due_month": f"{due_day:%Y-%m}",
            "original_due_day": original_due_day or due_day,
            "extensions": extensions,
            "extended_by_working_days": extended_by,
            "exceptional_extension": exceptional,
            "started_on": started_on,
            "met_at": None,
            "met_on": None,
            "breached_at": None,
            "outcome": Outcome.open,
            "_created": created,
            "_stopped": None,
            "_lapsed": None,
        }
        self.rows.append(row)
        return row

    @staticmethod
    def meet(row: dict[str, Any], moment: datetime, day: date) -> None:
        row["met_at"], row["met_on"] = moment, day

    def stop(self, moment: datetime, *keys: ClockKey) -> None:
        """The case moved on or closed at `moment`: its clocks of `keys` still open stop."""
        names = {k.value for k in keys}
        for row in self.rows:
            if row["key"] not in names or row["_stopped"] or row["_lapsed"]:
                continue
            if row["met_at"] is None or row["met_at"] > moment:
                row["met_at"] = row["met_on"] = None
                row["_stopped"] = moment

    def settled(self, as_at: datetime, days: Any) -> list[dict[str, Any]]:
        """The rows as they stand at `as_at`, each outcome as records/clocks.py `outcome` says,
        and each met one's working days taken, as the store counts them."""
        out = []
        for row in self.rows:
            if row.pop("_created") > as_at:
                row.pop("_stopped"), row.pop("_lapsed")
                continue
            if row["met_at"] is not None and row["met_at"] > as_at:
                row["met_at"] = row["met_on"] = None
            stopped, lapsed = row.pop("_stopped"), row.pop("_lapsed")
            stopped = stopped if stopped is not None and stopped <= as_at else None
            lapsed = lapsed if lapsed is not None and lapsed <= as_at else None
            ended = row["met_at"] or stopped or lapsed
            due = row["due"]
            breached = (
                row["key"] != ClockKey.escalation_window
                and due < as_at
                and (ended is None or ended > due)
            )
            row["breached_at"] = due if breached else None
            if breached or (row["met_at"] is not None and row["met_at"] > due):
                row["outcome"] = Outcome.missed
            elif row["met_at"] is not None:
                row["outcome"] = Outcome.met
            elif lapsed is not None:
                row["outcome"] = Outcome.lapsed
            elif stopped is not None:
                row["outcome"] = Outcome.stopped
            row["_open"] = ended is None
            started, met = row["started_on"], row["met_on"]
            row["working_days_taken"] = (
                None
                if started is None or met is None
                else max(0, days.index(met) - days.index(started))
            )
            out.append(row)
        return out


@dataclass
class Mix:
    """How often things happen (of the cases where they can)."""

    on_time: float = 0.93  # contact, acknowledgement, an enquiry's reply
    response_on_time: float = 0.90
    declined: float = 0.06
    service_request: float = 0.05
    withdrawn: float = 0.04  # of accepted complaints, during stage 1
    extended: float = 0.06  # stage 1 response; 0.10 at stage 2
    exceptional: float = 0.15  # of those extended
    escalated: float = 0.15  # of stage 1 responses
    remedies: float = 0.20  # responses promising actions
    to_team: float = 0.12  # enquiries passed to a team
    no_reply: float = 0.02  # enquiries closed without a reply
    converted: float = 0.01  # enquiries turned into complaints


COMPLAINT_CHANNELS = (
    [Channel.online_form, Channel.email, Channel.phone, Channel.letter, Channel.in_person,
     Channel.social_media],
    [35, 25, 28, 5, 4, 3],
)  # fmt: skip
ENQUIRY_CHANNELS = (
    [EnquiryChannel.phone, EnquiryChannel.online_form, EnquiryChannel.help_email,
     EnquiryChannel.social_media, EnquiryChannel.team_email, EnquiryChannel.letter,
     EnquiryChannel.callback, EnquiryChannel.in_person],
    [30, 18, 20, 5, 10, 4, 8, 5],
)  # fmt: skip
TENURES = (
    [Tenure.social_rent, Tenure.shared_ownership, Tenure.leaseholder, Tenure.not_resident],
    [82, 7, 7, 4],
)


class Generator:
    def __init__(self, policy: Policy, homes: int, seed: int) -> None:
        self.policy = policy
        self.days = Days(policy, START - timedelta(days=10), END + timedelta(days=400))
        self.homes = homes
        self.seed = seed
        self.mix = Mix()
        self.categories = list(policy.categories or {"other": "Other"})
        self.reply_days = policy.enquiries.reply_working_days
        # the records as they stand at 4pm on Friday 14 April 2028: the year's late cases run on
        self.as_at = self.days.local(date(2028, 4, 14), 16 * 3600)
        year = [START + timedelta(days=n) for n in range((END - START).days + 1)]
        self.year = year
        self.day_weights = [self._weight(d) for d in year]

    def _weight(self, day: date) -> float:
        working = 1.0 if day in self.days.cob else 0.15
        winter = 1.3 if day.month in (11, 12, 1, 2) else 1.0  # damp and mould, heating
        return working * winter

    def arrivals(self, complaints: int, enquiries: int) -> list[tuple[date, float, str]]:
        """When each case came in, in order (day, seconds after local midnight, kind)."""
        rng = random.Random(self.seed)
        days = rng.choices(self.year, self.day_weights, k=complaints + enquiries)
        kinds = ["complaint"] * complaints + ["enquiry"] * enquiries
        rng.shuffle(kinds)
        seconds = [rng.triangular(7 * 3600, 21 * 3600, 11 * 3600) for _ in kinds]
        return sorted(zip(days, seconds, kinds, strict=True))

    def batches(self, complaints: int, enquiries: int) -> Iterator[tuple[list, list]]:
        """(cases, clocks) a batch of BATCH cases at a time, in the order they came in."""
        rng = random.Random(self.seed + 1)
        counts = Counter[str]()
        cases: list[dict[str, Any]] = []
        clocks: list[dict[str, Any]] = []
        for day, seconds, kind in self.arrivals(complaints, enquiries):
            counts[kind] += 1
            make = self.complaint if kind == "complaint" else self.enquiry
            case, rows = make(rng, counts[kind], day, seconds)
            cases.append(case)
            clocks.extend(rows)
            if len(cases) == BATCH:
                yield cases, clocks
                cases, clocks = [], []
        if cases:
            yield cases, clocks

    # -- one complaint

    def _lag(self, rng: random.Random, start: date, allowed: int, on_time: float) -> date:
        """The working day a step was done: within `allowed` working days, or a few after."""
        if rng.random() < on_time:
            return self.days.add(start, min(allowed, int(rng.random() ** 1.6 * (allowed + 1))))
        return self.days.add(start, allowed + rng.randint(1, 6))

    def _response(
        self, rng: random.Random, clocks: Clocks, key: ClockKey, start: date, created: datetime,
        allowed: int, cap: int, extended: float,
    ) -> tuple[dict[str, Any], date]:  # fmt: skip
        """A response clock counted from `start` (the acknowledgement), perhaps extended; and the
        day the response goes (on time or not)."""
        d = self.days
        due = original = d.add(start, allowed)
        extensions, by, exceptional = 0, 0, False
        if rng.random() < extended:
            by = rng.choice([cap // 2, cap])
            due, extensions = d.add(original, by), 1
            if rng.random() < self.mix.exceptional:
                agreed = due + timedelta(days=rng.randint(14, 42))
                due, extensions, exceptional = d.on_or_before(agreed), 2, True
        row = clocks.add(
            d, key, due, created, started_on=start, original_due_day=original,
            extensions=extensions, extended_by=by, exceptional=exceptional,
        )  # fmt: skip
        first, last = d.index(start) + 2, d.index(due)
        on_time = self.mix.response_on_time - (0.08 if extensions else 0)
        if rng.random() < on_time:
            low = first if not extensions else max(first, d.index(original) - 2)
            sent = d.working[rng.randint(min(low, last), last)]
        else:
            sent = d.working[last + rng.randint(1, 10)]
        return row, sent

    def _remedies(
        self, rng: random.Random, clocks: Clocks, responded: datetime, day: date, first: int
    ) -> int:
        """Actions a response promised, each due on a date; how many."""
        if rng.random() >= self.mix.remedies:
            return 0
        d = self.days
        n = rng.choice([1, 1, 1, 2, 2, 3])
        for item in range(first, first + n):
            due = d.on_or_before(day + timedelta(days=rng.randint(14, 56)))
            row = clocks.add(d, ClockKey.remedy_action, due, responded, started_on=None, item=item)
            r = rng.random()
            if r < 0.88:
                done = d.working[rng.randint(d.index(day) + 1, d.index(due))]
            elif r < 0.96:
                done = d.add(due, rng.randint(1, 15))
            else:
                continue  # not done yet
            clocks.meet(row, d.during(rng, done, responded), done)
        return n

    def complaint(
        self, rng: random.Random, n: int, day: date, seconds: float
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        d, c, mix = self.days, self.policy.complaints, self.mix
        ref = reference("CMP", n)
        channel = rng.choices(*COMPLAINT_CHANNELS)[0].value
        received = d.local(day, seconds)
        d0 = d.received_on(day, seconds)
        clocks = Clocks(ref, channel)
        # (moment, stage, status, closure reason): the case's history
        history: list[tuple[datetime, str, str, str | None]] = [
            (received, Stage.triage, Status.awaiting_triage, None)
        ]

        def close(at: datetime, reason: ClosureReason) -> None:
            clocks.stop(at, *(k for k in ClockKey if k is not ClockKey.remedy_action))
            history.append((at, Stage.closed, Status.closed, reason))

        contact = clocks.add(d, ClockKey.s1_contact, d.add(d0, c.stage1_contact), received,
                             started_on=d0)  # fmt: skip
        ack = clocks.add(d, ClockKey.s1_acknowledgement, d.add(d0, c.stage1_acknowledgement),
                         received, started_on=d0)  # fmt: skip
        triaged_on = d.add(d0, rng.choice([0, 0, 1, 1, 1, 2, 2, 3]))
        triaged = d.during(rng, triaged_on, received)
        contacted_on = self._lag(rng, d0, c.stage1_contact, mix.on_time + 0.02)
        r = rng.random()
        tenure = rng.choices(*TENURES)[0].value
        category = rng.choice(self.categories)
        if r < mix.declined + mix.service_request:
            if contacted_on <= triaged_on:
                clocks.meet(contact, d.during(rng, contacted_on, received), contacted_on)
            reason = ClosureReason.declined if r < mix.declined else ClosureReason.service_request
            close(triaged, reason)
            category = None if reason is ClosureReason.declined else category
        else:
            history.append((triaged, Stage.stage1, Status.awaiting_acknowledgement, None))
            acked_on = max(triaged_on, self._lag(rng, d0, c.stage1_acknowledgement, mix.on_time))
            acked = d.during(rng, acked_on, triaged)
            contacted_on = min(contacted_on, acked_on)
            clocks.meet(contact, d.during(rng, contacted_on, received), contacted_on)
            clocks.meet(ack, acked, acked_on)
            history.append((acked, Stage.stage1, Status.investigating, None))
            s1, sent_on = self._response(
                rng, clocks, ClockKey.s1_response, acked_on, acked, c.stage1_response,
                c.stage1_extension_cap, mix.extended,
            )  # fmt: skip
            if rng.random() < mix.withdrawn:
                withdrawn_on = d.working[rng.randint(d.index(acked_on) + 1, d.index(sent_on))]
                close(d.during(rng, withdrawn_on, acked), ClosureReason.withdrawn)
            else:
                sent = d.during(rng, sent_on, acked)
                clocks.meet(s1, sent, sent_on)
                clocks.stop(sent, ClockKey.s1_contact, ClockKey.s1_acknowledgement)
                history.append((sent, Stage.stage1, Status.escalation_window, None))
                items = self._remedies(rng, clocks, sent, sent_on, 1)
                window = clocks.add(d, ClockKey.escalation_window,
                                    d.add(sent_on, c.escalation_window), sent,
                                    started_on=sent_on)  # fmt: skip
                if rng.random() >= mix.escalated:
                    window["_lapsed"] = window["due"]
                    close(window["due"], ClosureReason.escalation_window_lapsed)
                else:
                    asked_on = d.add(sent_on, rng.randint(1, c.escalation_window))
                    asked = d.during(rng, asked_on, sent)
                    clocks.meet(window, asked, asked_on)
                    history.append((asked, Stage.stage2, Status.awaiting_acknowledgement, None))
                    contact2 = clocks.add(d, ClockKey.s2_contact,
                                          d.add(asked_on, c.stage2_contact), asked,
                                          started_on=asked_on)  # fmt: skip
                    ack2 = clocks.add(d, ClockKey.s2_acknowledgement,
                                      d.add(asked_on, c.stage2_acknowledgement), asked,
                                      started_on=asked_on)  # fmt: skip
                    acked2_on = self._lag(rng, asked_on, c.stage2_acknowledgement, mix.on_time)
                    acked2 = d.during(rng, acked2_on, asked)
                    contact2_on = min(acked2_on, self._lag(rng, asked_on, c.stage2_contact, 0.9))
                    clocks.meet(contact2, d.during(rng, contact2_on, asked), contact2_on)
                    clocks.meet(ack2, acked2, acked2_on)
                    history.append((acked2, Stage.stage2, Status.investigating, None))
                    s2, sent2_on = self._response(
                        rng, clocks, ClockKey.s2_response, acked2_on, acked2, c.stage2_response,
                        c.stage2_extension_cap, mix.extended + 0.04,
                    )  # fmt: skip
                    sent2 = d.during(rng, sent2_on, acked2)
                    clocks.meet(s2, sent2, sent2_on)
                    self._remedies(rng, clocks, sent2, sent2_on, items + 1)
                    close(sent2, ClosureReason.final_response)
        rows = clocks.settled(self.as_at, self.days)
        case = self._case(ref, "complaint", n, channel, received, history, rows)
        case.update(category=category, tenure=tenure,
                    property_reference=f"PR{rng.randrange(self.homes):06d}")  # fmt: skip
        if case["stage"] != Stage.triage:
            case["owner_id"] = f"officer-{rng.randint(1, 40):02d}"
        return case, rows

    # -- one enquiry

    def enquiry(
        self, rng: random.Random, n: int, day: date, seconds: float
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        d, mix = self.days, self.mix
        ref = reference("ENQ", n)
        channel = rng.choices(*ENQUIRY_CHANNELS)[0].value
        received = d.local(day, seconds)
        d0 = d.received_on(day, seconds)
        clocks = Clocks(ref, channel)
        history: list[tuple[datetime, str, str, str | None]] = [
            (received, "enquiry", EnquiryState.open, None)
        ]
        allowed = self.reply_days[channel]
        reply = clocks.add(d, ClockKey.enquiry_reply, d.add(d0, allowed), received, started_on=d0)
        replied_on = self._lag(rng, d0, allowed, mix.on_time)
        replied = d.during(rng, replied_on, received)
        r = rng.random()

        def close(at: datetime, outcome: EnquiryOutcome) -> None:
            clocks.stop(at, ClockKey.enquiry_reply, ClockKey.team_reply)
            history.append((at, "closed", EnquiryState.closed, outcome))

        if r < mix.no_reply:
            close(replied, EnquiryOutcome.closed_without_reply)
        elif r < mix.no_reply + mix.converted:
            close(replied, EnquiryOutcome.converted_to_complaint)
        elif r < mix.no_reply + mix.converted + mix.to_team:
            clocks.meet(reply, replied, replied_on)
            history.append((replied, "enquiry", EnquiryState.with_team, None))
            team = clocks.add(d, ClockKey.team_reply,
                              d.add(replied_on, self.policy.enquiries.team_update), replied,
                              started_on=replied_on)  # fmt: skip
            fixed_on = self._lag(rng, replied_on, self.policy.enquiries.team_update, 0.88)
            fixed = d.during(rng, fixed_on, replied)
            clocks.meet(team, fixed, fixed_on)
            close(fixed, EnquiryOutcome.resolved_by_team)
        else:
            clocks.meet(reply, replied, replied_on)
            close(replied, EnquiryOutcome.answered)
        rows = clocks.settled(self.as_at, self.days)
        case = self._case(ref, "enquiry", n, channel, received, history, rows)
        if rng.random() < 0.6:
            case["owner_id"] = f"advisor-{rng.randint(1, 60):02d}"
        return case, rows

    def _case(
        self, ref: str, kind: str, n: int, channel: str, received: datetime,
        history: list[tuple[datetime, str, str, str | None]], rows: list[dict[str, Any]],
    ) -> dict[str, Any]:  # fmt: skip
        happened = [h for h in history if h[0] <= self.as_at]
        at, stage, status, reason = happened[-1]
        running = [r for r in rows if r.pop("_open") and r["key"] != ClockKey.escalation_window]
        nxt = min(running, key=lambda r: r["due"], default=None)
        postcode = f"ZZ9{n % 10} {n % 9 + 1}{ALPHABET[10 + n % 22]}{ALPHABET[10 + n // 22 % 22]}"
        return {
            "reference": ref,
            "kind": kind,
            "workflow_id": f"{kind}-{ref}",
            "stage": str(stage),
            "status": str(status),
            "owner_id": None,
            "resident_name": f"Resident {n}",
            "postcode": postcode,
            "postcode_key": postcode_key(postcode),
            "channel": channel,
            "received_at": received,
            "next_deadline": nxt["due"] if nxt else None,
            "next_deadline_label": (
                CLOCK_LABELS[ClockKey(nxt["key"])] + (f" {nxt['item']}" if nxt["item"] else "")
                if nxt
                else None
            ),
            "next_deadline_key": nxt["key"] if nxt else None,
            "overdue": bool(nxt and nxt["due"] < self.as_at),
            "closure_reason": None if reason is None else str(reason),
            "closed_at": at if stage == "closed" else None,
            "linked_references": [],
            "category": None,
            "tenure": None,
            "property_reference": None,
            "actions_outstanding": any(r["key"] == ClockKey.remedy_action for r in running),
            "data": {},
            "updated_at": max([at, *(r["met_at"] for r in rows if r["met_at"])]),
            "created_at": received,
        }


# ---------------------------------------------------------------------------------- the load


@dataclass
class Loaded:
    cases: int
    clocks: int
    seconds: float
    inserting: float
    analyze: float
    outcomes: Counter[str]
    closures: Counter[str]


def load(store: RecordsStore, gen: Generator, complaints: int, enquiries: int) -> Loaded:
    cases_table, clocks_table = Case.__table__, CaseClock.__table__
    started = time.perf_counter()
    inserting = 0.0
    n_cases = n_clocks = 0
    outcomes: Counter[str] = Counter()
    closures: Counter[str] = Counter()
    for cases, clocks in gen.batches(complaints, enquiries):
        for case in cases:
            if case["kind"] == "complaint":
                closures[case["closure_reason"] or case["stage"]] += 1
        for row in clocks:
            outcomes[row["outcome"]] += 1
        began = time.perf_counter()
        with store.writer.begin() as connection:
            connection.execute(insert(cases_table), cases)
            for i in range(0, len(clocks), BATCH):
                connection.execute(insert(clocks_table), clocks[i : i + BATCH])
        inserting += time.perf_counter() - began
        n_cases += len(cases)
        n_clocks += len(clocks)
    seconds = time.perf_counter() - started
    began = time.perf_counter()
    if store.engine.dialect.name == "postgresql":
        # VACUUM as autovacuum would after such a load (the visibility map lets index-only
        # scans skip the table), ANALYZE for the planner's statistics
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE cases"))
            c.execute(text("VACUUM ANALYZE case_clocks"))
    else:
        with store.writer.begin() as c:
            c.execute(text("ANALYZE"))
    analyze = time.perf_counter() - began
    return Loaded(n_cases, n_clocks, seconds, inserting, analyze, outcomes, closures)


# ------------------------------------------------------------------------------- the timings


class Statements:
    """The SQL statements (SELECTs) an engine runs while `capturing`, to time and explain them
    on their own."""

    def __init__(self, store: RecordsStore) -> None:
        self.capturing = False
        self.seen: list[tuple[str, Any]] = []

        @event.listens_for(store.engine, "before_cursor_execute")
        def _seen(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
            if self.capturing and statement.lstrip().upper().startswith("SELECT"):
                self.seen.append((statement, params))

    def run(self, work: Callable[[], Any]) -> tuple[list[tuple[str, Any]], float]:
        self.seen, self.capturing = [], True
        began = time.perf_counter()
        try:
            work()
        finally:
            self.capturing = False
        return self.seen, time.perf_counter() - began


def raw_time(store: RecordsStore, statement: str, params: Any, runs: int = 3) -> tuple[float, int]:
    """A statement's own time through the driver, executed and its rows fetched (SQLite does
    much of a GROUP BY's work while the rows are fetched): the median of `runs`, and the rows."""
    raw = store.engine.raw_connection()
    try:
        times, rows = [], 0
        for _ in range(runs):
            cursor = raw.cursor()
            began = time.perf_counter()
            cursor.execute(statement, params)
            rows = len(cursor.fetchall())
            times.append(time.perf_counter() - began)
            cursor.close()
        return statistics.median(times), rows
    finally:
        raw.close()


def count(store: RecordsStore, sql: str) -> Callable[[], Any]:
    def run() -> Any:
        with store.engine.connect() as connection:
            return connection.execute(text(sql)).all()

    return run


def plan(store: RecordsStore, statement: str, params: Any) -> list[str]:
    postgres = store.engine.dialect.name == "postgresql"
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if postgres else "EXPLAIN QUERY PLAN "
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql(prefix + statement, params).all()
    return [r[0] if postgres else r[-1] for r in rows]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def bench(name: str, store: RecordsStore, args: argparse.Namespace, policy: Policy) -> None:
    """Generate, load and time on one database, printing as it goes."""

    def say(line: str = "") -> None:
        print(line, flush=True)

    say(f"== {name}: {store.url.render_as_string(hide_password=True)}")
    store.migrate()
    gen = Generator(policy, args.homes, args.seed)
    loaded = load(store, gen, args.complaints, args.enquiries)
    say(
        f"generated {args.complaints:,} complaints and {args.enquiries:,} enquiries: "
        f"{loaded.cases:,} cases, {loaded.clocks:,} case_clocks rows in {loaded.seconds:.1f} s "
        f"(of which INSERTs {loaded.inserting:.1f} s, the rest Python); "
        f"{'VACUUM ANALYZE' if store.engine.dialect.name == 'postgresql' else 'ANALYZE'} "
        f"{loaded.analyze:.1f} s"
    )
    total = sum(loaded.outcomes.values())
    say(
        "  clocks: "
        + ", ".join(f"{k} {v / total:.1%}" for k, v in loaded.outcomes.most_common())
        + f" (as at {gen.as_at:%Y-%m-%d %H:%M} UTC)"
    )
    n = sum(loaded.closures.values())
    say("  complaints: " + ", ".join(f"{k} {v / n:.1%}" for k, v in loaded.closures.most_common()))

    homes = HomeCounts(
        years={year_label(YEAR): Stock(LCRA=round(args.homes * 0.92),
                                       LCHO=args.homes - round(args.homes * 0.92))}
    )  # fmt: skip
    works: dict[str, Callable[[], Any]] = {
        "clocks anchor": count(store, CLOCKS_ANCHOR),
        "cases anchor": count(store, CASES_ANCHOR),
        "promise_report": lambda: promise_report(store, START, END, policy, by_month=True),
        "tsm_report": lambda: tsm_report(store, YEAR, homes, policy),
    }
    results: dict[str, Any] = {}
    for label, work in works.items():  # warm-up, not counted: the caches fill
        results[label] = work()
    times: dict[str, list[float]] = {label: [] for label in works}
    for _ in range(args.repeat):  # round by round, so each report runs beside its anchors
        for label, work in works.items():
            began = time.perf_counter()
            work()
            times[label].append(time.perf_counter() - began)

    med = {label: statistics.median(t) for label, t in times.items()}
    say(f"timings: median and min of {args.repeat} runs each, after one warm-up run")
    for label, sql in (("clocks anchor", CLOCKS_ANCHOR), ("cases anchor", CASES_ANCHOR)):
        say(f"  anchor {sql:<56} {ms(med[label])}  min {ms(min(times[label]))}")
    anchors = {"promise_report": "clocks anchor", "tsm_report": "cases anchor"}
    tables = {"clocks anchor": "case_clocks", "cases anchor": "cases"}
    descriptions = {
        "promise_report": f"promise_report {START}..{END}, by month",
        "tsm_report": f"tsm_report {year_label(YEAR)}",
    }
    slow: list[str] = []
    for label, anchor in anchors.items():
        ratio = med[label] / med[anchor]
        other = "clocks anchor" if anchor == "cases anchor" else "cases anchor"
        under, within = med[label] < GOAL_SECONDS, ratio <= GOAL_RATIO
        if not (under and within):
            slow.append(label)
        say(
            f"  {descriptions[label]:<63} {ms(med[label])}  min {ms(min(times[label]))}  "
            f"{ratio:5.1f}x its anchor, the {tables[anchor]} count ({med[label] / med[other]:.1f}x "
            f"the {tables[other]} count); "
            f"under 1 s: {'yes' if under else 'NO'}, within 5x: {'yes' if within else 'NO'}"
        )

    statements = Statements(store)
    for label in anchors:
        seen, took = statements.run(works[label])
        own = [raw_time(store, statement, params) for statement, params in seen]
        parts = [
            f"{what} {ms(s).strip()} ({rows:,} rows)"
            for what, (s, rows) in zip(STATEMENTS[label], own, strict=False)
        ]
        rest = took - sum(s for s, _ in own)
        say(f"  {label}, one run {ms(took).strip()}: SQL (executed and fetched through the driver) "
            + ", ".join(parts) + f"; the rest about {ms(max(0, rest)).strip()} (Python: rows, "
            "types, working days, the report's models)")  # fmt: skip
        if label in slow or args.explain:
            named = zip(STATEMENTS[label], seen, own, strict=False)
            for what, (statement, params), (s, _) in named:
                if label in slow and not args.explain and s < 0.2 * took:
                    continue
                say(f"    plan of '{what}' ({ms(s).strip()}):")
                for line in plan(store, statement, params):
                    say(f"      {line}")

    report, tsm = results["promise_report"], results["tsm_report"]
    figures = {p.promise: p for p in report.promises}

    def promise(pid: str) -> str:
        p = figures[pid]
        return (
            f"{pid} {p.due:,} due, {p.percent_met}% met, {p.extended:,} extended "
            f"({p.exceptional:,} exceptional), median {p.median_working_days} working days"
        )

    say("figures (sanity check):")
    for pid in ("s1_response", "s2_response", "enquiry_reply:phone", "team_reply"):
        say(f"  {promise(pid)}")
    say(f"  {len(report.months)} months; remedy_action {figures['remedy_action'].due:,} due, "
        f"{figures['remedy_action'].percent_met}% met")  # fmt: skip
    for stock in ("LCRA", "LCHO"):
        ch01, ch02 = tsm.CH01[stock], tsm.CH02[stock]
        say(
            f"  CH01 {stock}: stage 1 {ch01.stage1:,} ({ch01.stage1_per_1000} per 1,000 of "
            f"{ch01.homes:,} homes), stage 2 {ch01.stage2:,} ({ch01.stage2_per_1000}); "
            f"CH02 {stock}: stage 1 {ch02.stage1.percent}% of {ch02.stage1.responded:,} within "
            f"({ch02.stage1.exceptional:,} exceptional), stage 2 {ch02.stage2.percent}% of "
            f"{ch02.stage2.responded:,}"
        )
    say()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="SQLite by default: a fresh file in a temp dir")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="PostgreSQL, in a schema of its own dropped afterwards (default: TEST_DATABASE_URL)",
    )
    parser.add_argument("--complaints", type=int, default=30_000)
    parser.add_argument("--enquiries", type=int, default=300_000)
    parser.add_argument("--homes", type=int, default=125_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2027)
    parser.add_argument("--explain", action="store_true", help="every statement's plan")
    args = parser.parse_args()
    policy = Settings().policy

    with ExitStack() as stack:
        url = args.database_url
        if url is None:
            tmp = tempfile.mkdtemp(prefix="bench-reports-")
            stack.callback(shutil.rmtree, tmp, ignore_errors=True)
            url = f"sqlite:///{tmp}/records.db"
        targets = [("SQLite" if url.startswith("sqlite") else "database", url)]
        if args.postgres_url:
            from tests.support import postgres_schema  # imports pytest and temporalio: only here

            targets.append(
                ("PostgreSQL", stack.enter_context(postgres_schema(args.postgres_url, "bench")))
            )
        for name, target in targets:
            store = RecordsStore(target)
            try:
                bench(name, store, args, policy)
            finally:
                store.dispose()
        if not args.postgres_url:
            print("PostgreSQL: skipped (no --postgres-url and no TEST_DATABASE_URL)")


if __name__ == "__main__":
    main()
