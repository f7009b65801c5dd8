"""The learning log: lessons learned from complaints, the improvements they lead to, and the
public "you said, we did" list of improvements made.

The Housing Ombudsman's Complaint Handling Code asks for "the service improvements made from
learning" in the landlord's annual report; the customer service standards promise residents to
tell them what changed because of their feedback. So:

- a **lesson** (`lessons`) is what was learned, in a service area, linked to the complaints that
  prompted it (`lesson_cases`; complaints only, each one recorded in `cases`);
- an **improvement** (`improvements`) is what will change because of a lesson: an owner (an
  active account whose role may work improvements, IMPROVERS), a due date (today or later when it
  is added) and, once done, when, by whom and a note saying what was done. Its optional public
  summary is what the public page shows once it is done: written for everyone, so it may not carry
  a case reference, an email address or a postcode.

One method per action (record_lesson, link_case, add_improvement, complete_improvement) and the
lists the pages read. Input models are pydantic; a rule that needs the database (a reference that
is no complaint, an owner who cannot own) raises `LearningRefused` naming the field. Every method
blocks (SQL): from the web app, call them through admin.off_loop.off_loop.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.references import PATTERN as REFERENCE_PATTERN
from domain.roles import Role
from records.schema import Case, Improvement, Lesson, LessonCase, StaffAccount, utc
from records.store import RecordsStore

LONDON = ZoneInfo("Europe/London")
COMPLAINT = "complaint"  # `cases.kind` of a complaint
# Who may add improvements, be named their owner and mark them done: the roles that own cases.
# Any signed-in member of staff may record a lesson and link complaints to it.
IMPROVERS: frozenset[Role] = frozenset({Role.case_officer, Role.reviewer, Role.manager})
MAX_REFERENCES = 20
# What a public summary may not carry: it is shown to everyone, without signing in.
_REFERENCE_IN_TEXT = re.compile(r"\b[A-Z]{3}-[0-9A-Z]{4}-[0-9A-Z]{4}\b", re.IGNORECASE)
_EMAIL_IN_TEXT = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_POSTCODE_IN_TEXT = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b", re.IGNORECASE)
PUBLIC_SUMMARY_RULE = (
    "The public summary is shown to everyone: leave out case references, email addresses and "
    "postcodes"
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class LearningRefused(ValueError):
    """An action the records refuse: `field` is the input it is about (a model field's name)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _public_summary(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if any(p.search(value) for p in (_REFERENCE_IN_TEXT, _EMAIL_IN_TEXT, _POSTCODE_IN_TEXT)):
        raise ValueError(PUBLIC_SUMMARY_RULE)
    return value


def reference_text(value: str) -> str:
    """A reference as typed ("cmp-2027-0001 ") as stored ("CMP-2027-0001")."""
    return value.strip().upper()


# ------------------------------------------------------------------------------ inputs


class NewLesson(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Annotated[Text, StringConstraints(max_length=300)]
    detail: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] | None = None
    service_area: Annotated[Text, StringConstraints(max_length=100)]
    references: list[str] = Field(min_length=1, max_length=MAX_REFERENCES)

    @field_validator("detail")
    @classmethod
    def _blank_is_none(cls, value: str | None) -> str | None:
        return value or None

    @field_validator("references")
    @classmethod
    def _references(cls, values: list[str]) -> list[str]:
        out: list[str] = []
        for value in values:
            reference = reference_text(value)
            if not REFERENCE_PATTERN.fullmatch(reference):
                raise ValueError(f"'{value.strip()}' is not a reference: like CMP-2027-0001")
            if reference not in out:
                out.append(reference)
        return out


class NewImprovement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lesson_id: int
    action: Annotated[Text, StringConstraints(max_length=2000)]
    owner_id: Annotated[Text, StringConstraints(max_length=80)]
    due_on: date
    public_summary: str | None = Field(default=None, max_length=1000)

    @field_validator("public_summary")
    @classmethod
    def _summary(cls, value: str | None) -> str | None:
        return _public_summary(value)


class CompleteImprovement(BaseModel):
    """Marking an improvement done needs a note of what was done; a public summary given here
    replaces the one given when it was added."""

    model_config = ConfigDict(extra="forbid")

    note: Annotated[Text, StringConstraints(max_length=2000)]
    public_summary: str | None = Field(default=None, max_length=1000)

    @field_validator("public_summary")
    @classmethod
    def _summary(cls, value: str | None) -> str | None:
        return _public_summary(value)


# ----------------------------------------------------------------------------- outputs


class ImprovementView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    lesson_id: int
    lesson_title: str
    service_area: str
    action: str
    owner_id: str
    owner_name: str
    due_on: date
    public_summary: str | None
    created_by: str
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    done_note: str | None

    @property
    def done(self) -> bool:
        return self.done_at is not None

    def overdue(self, today: date) -> bool:
        return not self.done and self.due_on < today


class LessonView(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    title: str
    detail: str | None
    service_area: str
    created_by: str
    created_at: datetime
    references: list[str]
    improvements: list[ImprovementView]


class PublicImprovement(BaseModel):
    """One line of "you said, we did": nothing personal, no references, no staff."""

    model_config = ConfigDict(frozen=True)

    summary: str
    service_area: str
    done_month: str  # "March 2027", London time
    done_on: date


# ----------------------------------------------------------------------------- the log


class LearningLog:
    """The learning log in the records database (records/schema.py: Lesson, LessonCase,
    Improvement)."""

    def __init__(self, store: RecordsStore) -> None:
        self._session = store.reading
        self._writing = store.writing

    # -- actions

    def record_lesson(self, new: NewLesson, *, by: str, now: datetime) -> LessonView:
        """A lesson linked to the complaints that prompted it: every reference must be a
        complaint in the records (LearningRefused on `references` otherwise)."""
        with self._writing() as s, s.begin():
            for reference in new.references:
                _check_complaint(s, reference)
            lesson = Lesson(
                title=new.title,
                detail=new.detail,
                service_area=new.service_area,
                created_by=by,
                created_at=utc(now),
            )
            s.add(lesson)
            s.flush()
            for reference in new.references:
                s.add(
                    LessonCase(
                        lesson_id=lesson.id, reference=reference, linked_by=by, linked_at=utc(now)
                    )
                )
            lesson_id = lesson.id
        found = self.lesson(lesson_id)
        assert found is not None
        return found

    def link_case(self, lesson_id: int, reference: str, *, by: str, now: datetime) -> LessonView:
        """Link one more complaint to a lesson; linking it again changes nothing."""
        reference = reference_text(reference)
        if not reference:
            raise LearningRefused("reference", "Enter the complaint's reference")
        if not REFERENCE_PATTERN.fullmatch(reference):
            raise LearningRefused(
                "reference", f"'{reference}' is not a reference: like CMP-2027-0001"
            )
        with self._writing() as s, s.begin():
            if s.get(Lesson, lesson_id) is None:
                raise LookupError(f"There is no lesson {lesson_id}.")
            _check_complaint(s, reference, "reference")
            if s.get(LessonCase, (lesson_id, reference)) is None:
                s.add(
                    LessonCase(
                        lesson_id=lesson_id, reference=reference, linked_by=by, linked_at=utc(now)
                    )
                )
        found = self.lesson(lesson_id)
        assert found is not None
        return found

    def add_improvement(
        self, new: NewImprovement, *, by: str, today: date, now: datetime
    ) -> ImprovementView:
        """An improvement for a lesson: due today or later, owned by an active account whose
        role is one of IMPROVERS."""
        if new.due_on < today:
            raise LearningRefused("due_on", "The due date must be today or in the future")
        with self._writing() as s, s.begin():
            if s.get(Lesson, new.lesson_id) is None:
                raise LookupError(f"There is no lesson {new.lesson_id}.")
            owner = s.get(StaffAccount, new.owner_id)
            if owner is None or not owner.active:
                raise LearningRefused("owner_id", "Choose an owner from the list of active staff")
            if Role(owner.role) not in IMPROVERS:
                raise LearningRefused(
                    "owner_id",
                    f"{owner.name} cannot own an improvement: choose a case officer, "
                    "a stage 2 reviewer or a manager",
                )
            row = Improvement(
                lesson_id=new.lesson_id,
                action=new.action,
                owner_id=owner.id,
                due_on=new.due_on,
                public_summary=new.public_summary,
                created_by=by,
                created_at=utc(now),
            )
            s.add(row)
            s.flush()
            improvement_id = row.id
        found = self.improvement(improvement_id)
        assert found is not None
        return found

    def complete_improvement(
        self, improvement_id: int, done: CompleteImprovement, *, by: str, now: datetime
    ) -> ImprovementView:
        """Mark an improvement done, with a note; an improvement is done once."""
        with self._writing() as s, s.begin():
            row = s.scalars(
                select(Improvement).where(Improvement.id == improvement_id).with_for_update()
            ).one_or_none()
            if row is None:
                raise LookupError(f"There is no improvement {improvement_id}.")
            if row.done_at is not None:
                raise LearningRefused("note", "This improvement is already marked done")
            row.done_at = utc(now)
            row.done_by = by
            row.done_note = done.note
            if done.public_summary is not None:
                row.public_summary = done.public_summary
        found = self.improvement(improvement_id)
        assert found is not None
        return found

    # -- reading

    def lesson(self, lesson_id: int) -> LessonView | None:
        with self._session() as s:
            row = s.get(Lesson, lesson_id)
            if row is None:
                return None
            return self._lesson_views(s, [row])[0]

    def lessons(self, limit: int = 200) -> list[LessonView]:
        """The newest lessons first."""
        query = select(Lesson).order_by(Lesson.created_at.desc(), Lesson.id.desc()).limit(limit)
        with self._session() as s:
            return self._lesson_views(s, list(s.scalars(query)))

    def lessons_for_case(self, reference: str) -> list[LessonView]:
        """The lessons a complaint prompted, newest first (for its case page)."""
        query = (
            select(Lesson)
            .join(LessonCase, LessonCase.lesson_id == Lesson.id)
            .where(LessonCase.reference == reference_text(reference))
            .order_by(Lesson.created_at.desc(), Lesson.id.desc())
        )
        with self._session() as s:
            return self._lesson_views(s, list(s.scalars(query)))

    def improvement(self, improvement_id: int) -> ImprovementView | None:
        found = self._improvements(Improvement.id == improvement_id)
        return found[0] if found else None

    def improvements(self, limit: int = 500) -> list[ImprovementView]:
        """Open improvements first, soonest due first; then done ones, most recently done
        first."""
        rows = self._improvements(limit=limit)
        open_ = sorted((i for i in rows if not i.done), key=lambda i: (i.due_on, i.id))
        done = sorted((i for i in rows if i.done), key=lambda i: (i.done_at, i.id), reverse=True)
        return open_ + done

    def you_said_we_did(self, limit: int = 100) -> list[PublicImprovement]:
        """Done improvements with a public summary, newest first: the summary, the lesson's
        service area and the month it was done. Nothing else leaves this method."""
        query = (
            select(Improvement.public_summary, Improvement.done_at, Lesson.service_area)
            .join(Lesson, Lesson.id == Improvement.lesson_id)
            .where(Improvement.done_at.is_not(None), Improvement.public_summary.is_not(None))
            .order_by(Improvement.done_at.desc(), Improvement.id.desc())
            .limit(limit)
        )
        with self._session() as s:
            out = []
            for summary, done_at, service_area in s.execute(query):
                local = utc(done_at).astimezone(LONDON)
                out.append(
                    PublicImprovement(
                        summary=summary,
                        service_area=service_area,
                        done_month=local.strftime("%B %Y"),
                        done_on=local.date(),
                    )
                )
            return out

    # -- internals

    def _improvements(self, *where: object, limit: int | None = None) -> list[ImprovementView]:
        query = (
            select(Improvement, Lesson.title, Lesson.service_area, StaffAccount.name)
            .join(Lesson, Lesson.id == Improvement.lesson_id)
            .join(StaffAccount, StaffAccount.id == Improvement.owner_id)
            .where(*where)  # type: ignore[arg-type]
            # the open ones first (all of them, under any limit), then the most recently done
            .order_by(Improvement.done_at.is_not(None), Improvement.done_at.desc(), Improvement.id)
        )
        if limit is not None:
            query = query.limit(limit)
        with self._session() as s:
            return [_improvement_view(*row) for row in s.execute(query)]

    def _lesson_views(self, s: Session, rows: list[Lesson]) -> list[LessonView]:
        if not rows:
            return []
        ids = [r.id for r in rows]
        links: dict[int, list[str]] = {i: [] for i in ids}
        for lesson_id, reference in s.execute(
            select(LessonCase.lesson_id, LessonCase.reference)
            .where(LessonCase.lesson_id.in_(ids))
            .order_by(LessonCase.linked_at, LessonCase.reference)
        ):
            links[lesson_id].append(reference)
        improvements: dict[int, list[ImprovementView]] = {i: [] for i in ids}
        for found in s.execute(
            select(Improvement, Lesson.title, Lesson.service_area, StaffAccount.name)
            .join(Lesson, Lesson.id == Improvement.lesson_id)
            .join(StaffAccount, StaffAccount.id == Improvement.owner_id)
            .where(Improvement.lesson_id.in_(ids))
            .order_by(Improvement.due_on, Improvement.id)
        ):
            view = _improvement_view(*found)
            improvements[view.lesson_id].append(view)
        return [
            LessonView(
                id=r.id,
                title=r.title,
                detail=r.detail,
                service_area=r.service_area,
                created_by=r.created_by,
                created_at=r.created_at,
                references=links[r.id],
                improvements=improvements[r.id],
            )
            for r in rows
        ]


def _check_complaint(s: Session, reference: str, field: str = "references") -> None:
    kind = s.scalar(select(Case.kind).where(Case.reference == reference))
    if kind is None:
        raise LearningRefused(
            field, f"There is no complaint {reference} in the records: check the reference"
        )
    if kind != COMPLAINT:
        raise LearningRefused(
            field,
            f"{reference} is an {kind}, not a complaint: only complaints can be linked to a lesson",
        )


def _improvement_view(
    row: Improvement, lesson_title: str, service_area: str, owner_name: str
) -> ImprovementView:
    return ImprovementView(
        id=row.id,
        lesson_id=row.lesson_id,
        lesson_title=lesson_title,
        service_area=service_area,
        action=row.action,
        owner_id=row.owner_id,
        owner_name=owner_name,
        due_on=row.due_on,
        public_summary=row.public_summary,
        created_by=row.created_by,
        created_at=row.created_at,
        done_at=row.done_at,
        done_by=row.done_by,
        done_note=row.done_note,
    )


__all__ = [
    "IMPROVERS",
    "CompleteImprovement",
    "ImprovementView",
    "LearningLog",
    "LearningRefused",
    "LessonView",
    "NewImprovement",
    "NewLesson",
    "PublicImprovement",
]
