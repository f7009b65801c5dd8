"""People known across cases, as the records keep them (migration 0017; domain/persons.py):

- `persons`: one row a person, with an opaque reference (PER-XXXX-XXXX), their details as the
  case they were first recorded from gave them, and those details normalised for matching.
- `person_cases`: the cases staff linked to them (a case to at most one person). Nothing links
  by itself: `suggestions` only lists people a case may be, with what matched.
- `person_items`: reasonable adjustments, vulnerabilities and contact restrictions, each with a
  review date and who is reminded when it falls due; reviewed (a new date) or ended, never
  deleted.
- `person_events`: the log of everything done to the record (created, linked, unlinked, each
  item recorded, reviewed and ended, the owner changed), with who and when.

Every method blocks (SQL): from the web app, call them through admin.off_loop.off_loop.
"""

from __future__ import annotations

import random
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.adjustments import Adjustments
from domain.letters import LetterRequest, Recipient
from domain.persons import (
    PERSON_PREFIX,
    ItemKind,
    MatchOn,
    NewRestriction,
    PersonDetails,
    ReviewOwner,
    email_key,
    match_strength,
    matches,
    phone_key,
    postcode_key,
    restriction_letter,
    review_letter,
)
from domain.references import new_reference
from records.schema import (
    Case,
    PersonCase,
    PersonEvent,
    PersonItem,
    PersonRow,
    StaffAccount,
)
from records.store import LetterRow, RecordsStore

PERSON_FIELDS = {"complaint": "resident", "enquiry": "enquirer"}  # the case data's person
MAX_SUGGESTIONS = 10


class PersonEventKind(StrEnum):
    created = "created"
    linked = "linked"
    unlinked = "unlinked"
    recorded = "recorded"
    reviewed = "reviewed"
    ended = "ended"
    owner_changed = "owner_changed"


class PersonRefused(Exception):
    """A change the records cannot make, in words for staff."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _View(BaseModel):
    model_config = ConfigDict(frozen=True)


class Suggestion(_View):
    reference: str
    name: str
    on: list[MatchOn]
    strength: str  # "strong" or "weak" (domain.persons.match_strength)
    cases: int


class Item(_View):
    id: int
    kind: ItemKind
    data: dict[str, Any]
    review_on: date
    review_owner: ReviewOwner
    recorded_by: str
    recorded_at: datetime
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    ended_at: datetime | None = None
    ended_by: str | None = None

    @property
    def active(self) -> bool:
        return self.ended_at is None

    @property
    def adjustments(self) -> Adjustments | None:
        if self.kind is not ItemKind.adjustments:
            return None
        return Adjustments.model_validate(self.data["adjustments"])


class CaseLine(_View):
    reference: str
    kind: str
    stage: str
    status: str
    received_at: datetime
    closed_at: datetime | None = None
    linked_by: str
    linked_at: datetime


class EventLine(_View):
    person: str
    at: datetime
    event: PersonEventKind
    by: str
    reference: str | None = None
    item_id: int | None = None
    detail: str | None = None


class Person(_View):
    reference: str
    details: PersonDetails
    owner_id: str | None
    created_by: str
    created_at: datetime
    items: list[Item] = []

    @property
    def active_items(self) -> list[Item]:
        return [i for i in self.items if i.active]

    def active(self, kind: ItemKind) -> list[Item]:
        return [i for i in self.items if i.active and i.kind == kind]

    def needs(self) -> list[Adjustments]:
        return [a for i in self.active(ItemKind.adjustments) if (a := i.adjustments)]


class PersonPage(_View):
    person: Person
    cases: list[CaseLine]
    events: list[EventLine]
    letters: list[LetterRow]


class CaseLink(_View):
    """A case's person, as its page shows them: the person and who linked the case, when."""

    person: Person
    linked_by: str
    linked_at: datetime


class DueReview(_View):
    person: str
    item_id: int
    kind: ItemKind
    review_on: date


def case_person(data: dict[str, Any], kind: str) -> PersonDetails | None:
    """Who a recorded case is about (its resident or enquirer), as a person's details."""
    found = data.get(PERSON_FIELDS.get(kind, ""))
    if not isinstance(found, dict):
        return None
    try:
        return PersonDetails.model_validate(
            {k: found.get(k) for k in ("name", "email", "phone", "address")}
        )
    except ValidationError:
        return None


def _details(row: PersonRow) -> PersonDetails:
    return PersonDetails.model_validate(row.details)


def _item(row: PersonItem) -> Item:
    return Item(
        id=row.id,
        kind=ItemKind(row.kind),
        data=dict(row.data),
        review_on=row.review_on,
        review_owner=ReviewOwner(row.review_owner),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        reviewed_at=row.reviewed_at,
        reviewed_by=row.reviewed_by,
        ended_at=row.ended_at,
        ended_by=row.ended_by,
    )


class PersonRecords:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    # ------------------------------------------------------------------ reading

    def case_details(self, reference: str) -> PersonDetails | None:
        """The person a recorded case is about, or None (not recorded, or no such person)."""
        with self.store.reading() as session:
            row = session.execute(
                select(Case.data, Case.kind).where(Case.reference == reference)
            ).first()
            return case_person(dict(row.data or {}), row.kind) if row is not None else None

    def person(self, reference: str) -> Person | None:
        with self.store.reading() as session:
            return self._person(session, reference)

    def _person(self, session: Session, reference: str) -> Person | None:
        row = session.get(PersonRow, reference)
        if row is None:
            return None
        items = session.scalars(
            select(PersonItem)
            .where(PersonItem.person_id == reference)
            .order_by(PersonItem.recorded_at, PersonItem.id)
        ).all()
        return Person(
            reference=row.id,
            details=_details(row),
            owner_id=row.owner_id,
            created_by=row.created_by,
            created_at=row.created_at,
            items=[_item(i) for i in items],
        )

    def for_case(self, reference: str) -> CaseLink | None:
        """The person the case is linked to, with their items; None if it is linked to none."""
        with self.store.reading() as session:
            link = session.get(PersonCase, reference)
            if link is None:
                return None
            person = self._person(session, link.person_id)
            assert person is not None  # a foreign key
            return CaseLink(person=person, linked_by=link.linked_by, linked_at=link.linked_at)

    def case_events(self, reference: str) -> list[EventLine]:
        """What was done to the case's link to a person (linked, unlinked), oldest first."""
        with self.store.reading() as session:
            rows = session.scalars(
                select(PersonEvent)
                .where(PersonEvent.reference == reference)
                .order_by(PersonEvent.at, PersonEvent.id)
            ).all()
        return [self._event(r) for r in rows]

    @staticmethod
    def _event(row: PersonEvent) -> EventLine:
        return EventLine(
            person=row.person_id,
            at=row.at,
            event=PersonEventKind(row.event),
            by=row.by,
            reference=row.reference,
            item_id=row.item_id,
            detail=row.detail,
        )

    def page(self, reference: str) -> PersonPage | None:
        """The person's page: the person, their cases (both kinds), the log and their letters."""
        with self.store.reading() as session:
            person = self._person(session, reference)
            if person is None:
                return None
            cases = session.execute(
                select(Case, PersonCase)
                .join(PersonCase, PersonCase.reference == Case.reference)
                .where(PersonCase.person_id == reference)
                .order_by(Case.received_at)
            ).all()
            events = session.scalars(
                select(PersonEvent)
                .where(PersonEvent.person_id == reference)
                .order_by(PersonEvent.at, PersonEvent.id)
            ).all()
        return PersonPage(
            person=person,
            cases=[
                CaseLine(
                    reference=case.reference,
                    kind=case.kind,
                    stage=case.stage,
                    status=case.status,
                    received_at=case.received_at,
                    closed_at=case.closed_at,
                    linked_by=link.linked_by,
                    linked_at=link.linked_at,
                )
                for case, link in cases
            ],
            events=[self._event(e) for e in events],
            letters=self.store.letters(reference),
        )

    def suggestions(self, reference: str) -> list[Suggestion]:
        """People the case's person may be, matched on email, phone or postcode (normalised),
        strongest first. Only suggestions: nothing is linked until staff choose."""
        details = self.case_details(reference)
        if details is None:
            return []
        keys = {
            PersonRow.email_key: email_key(details.email),
            PersonRow.phone_key: phone_key(details.phone),
            PersonRow.postcode_key: postcode_key(details.address.postcode)
            if details.address
            else None,
        }
        wanted = [column == value for column, value in keys.items() if value]
        if not wanted:
            return []
        with self.store.reading() as session:
            rows = session.scalars(select(PersonRow).where(or_(*wanted)).limit(50)).all()
            ids = [r.id for r in rows]
            counted = select(PersonCase.person_id, func.count()).where(
                PersonCase.person_id.in_(ids)
            )
            counts = {
                person: n for person, n in session.execute(counted.group_by(PersonCase.person_id))
            }
        found = []
        for row in rows:
            on = matches(details, _details(row))
            if on:
                found.append(
                    Suggestion(
                        reference=row.id,
                        name=row.name,
                        on=on,
                        strength=match_strength(on),
                        cases=counts.get(row.id, 0),
                    )
                )
        found.sort(key=lambda s: (s.strength != "strong", -len(s.on), s.name, s.reference))
        return found[:MAX_SUGGESTIONS]

    # ------------------------------------------------------------------ linking

    def create_from_case(self, case_reference: str, by: str, now: datetime) -> str:
        """A new person from the case's details, with the case linked to them; their
        reference. `by` (a staff id) owns the record."""
        details = self.case_details(case_reference)
        if details is None:
            raise PersonRefused(
                f"Case {case_reference} is not recorded yet, so a person cannot be made from "
                "it. Reload the page in a moment."
            )
        rng = random.SystemRandom()
        with self.store.writing() as session, session.begin():
            if session.get(PersonCase, case_reference) is not None:
                raise PersonRefused(
                    "This case is already linked to a person. Unlink it first to link it to "
                    "someone else."
                )
            reference = new_reference(PERSON_PREFIX, rng)
            while session.get(PersonRow, reference) is not None:
                reference = new_reference(PERSON_PREFIX, rng)
            session.add(
                PersonRow(
                    id=reference,
                    name=details.name,
                    details=details.model_dump(mode="json"),
                    email_key=email_key(details.email),
                    phone_key=phone_key(details.phone),
                    postcode_key=postcode_key(details.address.postcode)
                    if details.address
                    else None,
                    owner_id=by,
                    created_by=by,
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            self._log(session, reference, PersonEventKind.created, by, now, case_reference)
            self._link(session, reference, case_reference, by, now)
        return reference

    def link(self, case_reference: str, person: str, by: str, now: datetime) -> None:
        with self.store.writing() as session, session.begin():
            if session.get(PersonRow, person) is None:
                raise PersonRefused(f"There is no person {person}.")
            if session.get(Case, case_reference) is None:
                raise PersonRefused(f"There is no case {case_reference} in the records.")
            existing = session.get(PersonCase, case_reference)
            if existing is not None:
                if existing.person_id == person:
                    return  # the same choice twice (a double click): one link
                raise PersonRefused(
                    "This case is already linked to a person. Unlink it first to link it to "
                    "someone else."
                )
            self._link(session, person, case_reference, by, now)

    def _link(
        self, session: Session, person: str, case_reference: str, by: str, now: datetime
    ) -> None:
        session.add(
            PersonCase(reference=case_reference, person_id=person, linked_by=by, linked_at=now)
        )
        self._log(session, person, PersonEventKind.linked, by, now, case_reference)

    def unlink(self, case_reference: str, by: str, now: datetime, reason: str) -> str | None:
        """Unlink the case from its person, logging why; the person it was linked to (None: it
        was linked to nobody)."""
        with self.store.writing() as session, session.begin():
            link = session.get(PersonCase, case_reference, with_for_update=True)
            if link is None:
                return None
            person = link.person_id
            session.delete(link)
            self._log(
                session, person, PersonEventKind.unlinked, by, now, case_reference, detail=reason
            )
            return person

    # ------------------------------------------------------------------ items

    def record(
        self,
        person: str,
        kind: ItemKind,
        data: dict[str, Any],
        review_on: date,
        review_owner: ReviewOwner,
        by: str,
        now: datetime,
    ) -> int:
        """Record an item on the person; its id."""
        with self.store.writing() as session, session.begin():
            if session.get(PersonRow, person) is None:
                raise PersonRefused(f"There is no person {person}.")
            row = PersonItem(
                person_id=person,
                kind=kind.value,
                data=data,
                review_on=review_on,
                review_owner=review_owner.value,
                recorded_by=by,
                recorded_at=now,
            )
            session.add(row)
            session.flush()
            self._log(
                session,
                person,
                PersonEventKind.recorded,
                by,
                now,
                item_id=row.id,
                detail=kind.value,
            )
            return row.id

    def review(
        self,
        person: str,
        item_id: int,
        next_review_on: date,
        note: str | None,
        by: str,
        now: datetime,
    ) -> None:
        with self.store.writing() as session, session.begin():
            row = self._open_item(session, person, item_id)
            row.review_on = next_review_on
            row.reviewed_at, row.reviewed_by = now, by
            detail = f"next review {next_review_on.isoformat()}" + (f": {note}" if note else "")
            self._log(
                session, person, PersonEventKind.reviewed, by, now, item_id=item_id, detail=detail
            )

    def end(self, person: str, item_id: int, note: str | None, by: str, now: datetime) -> None:
        with self.store.writing() as session, session.begin():
            row = self._open_item(session, person, item_id)
            row.ended_at, row.ended_by = now, by
            self._log(session, person, PersonEventKind.ended, by, now, item_id=item_id, detail=note)

    @staticmethod
    def _open_item(session: Session, person: str, item_id: int) -> PersonItem:
        row = session.get(PersonItem, item_id, with_for_update=True)
        if row is None or row.person_id != person:
            raise PersonRefused(f"There is no item {item_id} on person {person}.")
        if row.ended_at is not None:
            raise PersonRefused("This has already ended.")
        return row

    def set_owner(self, person: str, owner_id: str, by: str, now: datetime) -> None:
        with self.store.writing() as session, session.begin():
            row = session.get(PersonRow, person, with_for_update=True)
            if row is None:
                raise PersonRefused(f"There is no person {person}.")
            row.owner_id, row.updated_at = owner_id, now
            self._log(session, person, PersonEventKind.owner_changed, by, now, detail=owner_id)

    @staticmethod
    def _log(
        session: Session,
        person: str,
        event: PersonEventKind,
        by: str,
        now: datetime,
        reference: str | None = None,
        *,
        item_id: int | None = None,
        detail: str | None = None,
    ) -> None:
        session.add(
            PersonEvent(
                person_id=person,
                at=now,
                event=event.value,
                by=by,
                reference=reference,
                item_id=item_id,
                detail=detail,
            )
        )

    # ------------------------------------------------------------------ letters

    def restriction_letters(self, person: str, item_id: int | None = None) -> list[LetterRequest]:
        """The resident's letter of each open contact restriction on `person` (or only of
        `item_id`), as letter requests: each is sent once (its key), so asking again is safe."""
        found = self.person(person)
        if found is None:
            return []
        out = []
        for item in found.active(ItemKind.restriction):
            if item_id is not None and item.id != item_id:
                continue
            restriction = NewRestriction.model_validate(
                {k: v for k, v in item.data.items() if k in NewRestriction.model_fields}
            )
            out.append(
                restriction_letter(
                    found.reference,
                    found.details,
                    item.id,
                    restriction,
                    decided_by=item.recorded_by,
                    needs=found.needs(),
                )
            )
        return out

    def unsent_restriction_letters(self) -> list[LetterRequest]:
        """The letter of every open restriction the ledger has not sent (a letter whose start
        failed when it was recorded): the daily reviews workflow starts them again."""
        with self.store.reading() as session:
            people = session.scalars(
                select(PersonItem.person_id)
                .where(PersonItem.kind == ItemKind.restriction.value)
                .where(PersonItem.ended_at.is_(None))
                .distinct()
            ).all()
        out = []
        for person in people:
            for request in self.restriction_letters(person):
                sent = self.store.get_letter(request.reference, request.key)
                if sent is None or not sent.sent:
                    out.append(request)
        return out

    def due_reviews(self, today: date) -> list[DueReview]:
        """Every open item whose review date is today or before."""
        with self.store.reading() as session:
            rows = session.scalars(
                select(PersonItem)
                .where(PersonItem.ended_at.is_(None))
                .where(PersonItem.review_on <= today)
                .order_by(PersonItem.review_on, PersonItem.id)
            ).all()
        return [
            DueReview(
                person=r.person_id, item_id=r.id, kind=ItemKind(r.kind), review_on=r.review_on
            )
            for r in rows
        ]

    def review_reminder(self, due: DueReview, team_name: str) -> LetterRequest:
        """The reminder of `due` to the owner of its review: the person record's owner, or who
        recorded the item (for a restriction: the manager who decided it); the team inbox if
        that account is gone or inactive."""
        with self.store.reading() as session:
            item = session.get(PersonItem, due.item_id)
            person = session.get(PersonRow, due.person)
            assert item is not None and person is not None
            owner = (
                person.owner_id
                if item.review_owner == ReviewOwner.person_owner.value
                and due.kind is not ItemKind.restriction
                else item.recorded_by
            )
            account = session.get(StaffAccount, owner) if owner else None
        if account is not None and account.active:
            to = Recipient(name=account.name, email=account.email, role="owner")
        else:
            to = Recipient(name=team_name, role="team")
        return review_letter(due.person, due.item_id, due.kind, due.review_on, to)
