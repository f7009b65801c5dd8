"""What a case page shows of the person the case is about (records/persons.py): the person record
it is linked to, with what every case of theirs must know for the "Important" banner, or, while
it is linked to none, the people it may be (suggestions only: staff choose).

`banner_lines` words a person's open items for the banner: each reasonable adjustment in the
words the case's own use (domain/adjustments.py), each vulnerability, each contact restriction,
with its review date. The banner marks them as the person record's."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from domain.adjustments import needs_in_words, staff_actions
from domain.persons import (
    MATCH_LABELS,
    RESTRICTION_LABELS,
    VULNERABILITY_LABELS,
    WEAK_MATCH,
    ItemKind,
    Restriction,
    Vulnerability,
)
from records.persons import CaseLink, EventLine, Person, PersonRecords, Suggestion


@dataclass(frozen=True)
class BannerLine:
    text: str
    review_on: date
    kind: ItemKind


@dataclass
class PersonPanel:
    link: CaseLink | None  # the person the case is linked to
    suggestions: list[Suggestion] = field(default_factory=list)  # while linked to none
    events: list[EventLine] = field(default_factory=list)  # linked, unlinked
    banner: list[BannerLine] = field(default_factory=list)

    weak_match = WEAK_MATCH

    @staticmethod
    def matched_on(suggestion: Suggestion) -> str:
        return ", ".join(MATCH_LABELS[m] for m in suggestion.on)

    @property
    def restrictions(self) -> list[BannerLine]:
        return [b for b in self.banner if b.kind is ItemKind.restriction]

    @property
    def needs(self) -> list[BannerLine]:
        return [b for b in self.banner if b.kind is not ItemKind.restriction]


def banner_lines(person: Person) -> list[BannerLine]:
    lines: list[BannerLine] = []
    for item in person.active(ItemKind.restriction):
        what = RESTRICTION_LABELS[Restriction(item.data["restriction"])]
        lines.append(
            BannerLine(
                f"Contact restriction: {what}. {item.data['details']}", item.review_on, item.kind
            )
        )
    for item in person.active(ItemKind.adjustments):
        needs = item.adjustments
        words = [*needs_in_words(needs), *staff_actions(needs)]
        if needs is not None and needs.note:
            words.append(f"Note: {needs.note}")
        lines += [BannerLine(w, item.review_on, item.kind) for w in words]
    for item in person.active(ItemKind.vulnerability):
        what = VULNERABILITY_LABELS[Vulnerability(item.data["vulnerability"])]
        note = item.data.get("note")
        lines.append(
            BannerLine(
                f"Vulnerability: {what}" + (f". {note}" if note else ""), item.review_on, item.kind
            )
        )
    return lines


def panel_for(records: PersonRecords, reference: str) -> PersonPanel:
    """The case's panel. It reads the records database: from async code, off the event loop
    (admin/off_loop.py), as the case page's other reads (admin/routes/cases.py)."""
    link = records.for_case(reference)
    return PersonPanel(
        link=link,
        suggestions=[] if link else records.suggestions(reference),
        events=records.case_events(reference),
        banner=banner_lines(link.person) if link else [],
    )
