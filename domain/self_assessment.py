"""The Complaint Handling Code's self-assessment: one row per provision of the Code, saying
whether the landlord complies, with its evidence and commentary. The governing body reviews it
each year and it is published with the annual complaints performance and service improvement
report.

The provisions, paraphrased, are data (`policy/code-provisions.toml`, CODE_PROVISIONS_FILE).
Where the records can answer a provision (a provision's `evidence` names what), the page fills
in the figures for the year and a few sample cases (`automatic_evidence`): staff still decide
whether the landlord complies and write the rest.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator

from domain.annual_report import AnnualReport, Count
from domain.people import Strict
from domain.policy import parse_toml_model


class EvidenceKey(StrEnum):
    """What in the records can evidence a provision."""

    declined_by_reason = "declined_by_reason"
    contact_timeliness = "contact_timeliness"
    acknowledgement_timeliness = "acknowledgement_timeliness"
    stage1_timeliness = "stage1_timeliness"
    stage2_timeliness = "stage2_timeliness"
    extensions = "extensions"
    escalation = "escalation"
    remedies = "remedies"
    compensation = "compensation"
    learning = "learning"
    ombudsman = "ombudsman"
    volumes = "volumes"
    annual_report = "annual_report"
    satisfaction = "satisfaction"


class Section(Strict):
    number: int = Field(ge=1, le=20)
    title: str = Field(min_length=1, max_length=200)


class Provision(Strict):
    id: str = Field(pattern=r"^\d{1,2}\.\d{1,2}$")
    section: int = Field(ge=1, le=20)
    duty: Literal["must", "should"]
    requirement: str = Field(min_length=1, max_length=1000)
    evidence: EvidenceKey | None = None
    note: str | None = None


class CodeProvisions(Strict):
    code: str
    sections: list[Section]
    provisions: list[Provision] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> CodeProvisions:
        ids = [p.id for p in self.provisions]
        if len(set(ids)) != len(ids):
            raise ValueError("each provision id once")
        sections = {s.number for s in self.sections}
        unknown = sorted({p.section for p in self.provisions} - sections)
        if unknown:
            raise ValueError(f"provisions of sections not listed: {unknown}")
        for p in self.provisions:
            if int(p.id.split(".")[0]) != p.section:
                raise ValueError(f"{p.id} is not in section {p.section}")
        return self

    def of_section(self, number: int) -> list[Provision]:
        return [p for p in self.provisions if p.section == number]


class ProvisionsError(ValueError):
    pass


def parse_provisions(text: str, source: str = "code provisions file") -> CodeProvisions:
    return parse_toml_model(text, CodeProvisions, source, ProvisionsError)


class Comply(StrEnum):
    yes = "yes"
    no = "no"


MAX_TEXT = 5000


class Answer(Strict):
    """The landlord's answer for one provision (none given yet: `comply` None)."""

    provision: str
    comply: Comply | None = None
    evidence: str = Field(default="", max_length=MAX_TEXT)
    commentary: str = Field(default="", max_length=MAX_TEXT)


def _pct(met: int, due: int) -> str:
    return f"{met} of {due} ({round(100 * met / due, 1)}%)" if due else "none due"


def _listed(counts: list[Count]) -> str:
    return "; ".join(f"{c.label}: {c.count}" for c in counts) or "none"


def automatic_evidence(
    key: EvidenceKey | None, report: AnnualReport, samples: dict[str, list[str]]
) -> str | None:
    """What the records say for a provision, in a sentence or two, for the year of `report`."""
    if key is None:
        return None
    by_promise = {p.promise: p for p in report.timeliness}

    def promise(*ids: str) -> str:
        return "; ".join(
            f"{by_promise[i].label}: {_pct(by_promise[i].met, by_promise[i].due)} on time"
            for i in ids
            if i in by_promise
        )

    v, r, o = report.volumes, report.remedies, report.ombudsman
    text = {
        EvidenceKey.declined_by_reason: f"{v.declined} complaints declined, by reason: "
        f"{_listed(v.refused_by_reason)}; {v.service_requests} dealt with as service requests.",
        EvidenceKey.contact_timeliness: promise("s1_contact", "s2_contact"),
        EvidenceKey.acknowledgement_timeliness: promise("s1_acknowledgement", "s2_acknowledgement"),
        EvidenceKey.stage1_timeliness: promise("s1_response"),
        EvidenceKey.stage2_timeliness: promise("s2_response"),
        EvidenceKey.extensions: "; ".join(
            f"{p.label}: {p.extended} extended ({p.exceptional} exceptionally)"
            for p in report.timeliness
            if p.promise in ("s1_response", "s2_response")
        ),
        EvidenceKey.escalation: f"{v.stage2} complaints escalated to stage 2 of {v.stage1} "
        "received at stage 1.",
        EvidenceKey.remedies: f"{r.actions_due} actions promised fell due: "
        f"{r.actions_done_on_time} done on time, {r.actions_done_late} late, "
        f"{r.actions_open} still open.",
        EvidenceKey.compensation: f"£{r.compensation_offered:,.2f} compensation offered on "
        f"{r.complaints_with_compensation} complaints; £{r.compensation_paid:,.2f} paid.",
        EvidenceKey.learning: f"{report.learning.lessons} lessons recorded; "
        f"{report.learning.improvements_done} improvements made, "
        f"{report.learning.improvements_open} open.",
        EvidenceKey.ombudsman: f"{o.referrals} complaints referred to the Housing Ombudsman; "
        f"determinations: {_listed(o.determinations)}; orders: {_listed(o.orders)} "
        f"({o.orders_complied_on_time} complied with on time, {o.orders_open} open).",
        EvidenceKey.volumes: f"{v.stage1} complaints received at stage 1 and {v.stage2} at "
        f"stage 2; by category: {_listed(v.by_category)}.",
        EvidenceKey.annual_report: f"The annual complaints performance and service improvement "
        f"report for {report.year} is drafted from the records.",
        EvidenceKey.satisfaction: f"{report.satisfaction.replies} residents answered the "
        f"satisfaction survey; {report.satisfaction.satisfied} were satisfied.",
    }[key]
    examples = samples.get(key.value) or []
    if examples:
        text += " Sample cases: " + ", ".join(examples) + "."
    return f"{report.year}: {text}"
