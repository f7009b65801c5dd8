"""A resident's reasonable adjustments as needs that change what happens, with a free-text note
for anything else. The complaints policy: "If you need extra support to complain or you need us
to make reasonable changes to our process ... please let us know"; the customer service
standards: "Provide translation and interpretation services".

`Adjustments` is one model for a complainant (domain/people.py `Resident`) and an enquirer
(domain/enquiry.py `Enquirer`), their optional `adjustments`. Cases lodged before it carry only
the free text `reasonable_adjustments`: `needs_of` reads either, the old text as the note.

Each rule the needs imply is one function here, and nowhere else:

| need | rule | what it changes |
|---|---|---|
| large print | `letter_font_size` | letters, email and post, at LARGE_PRINT_PT |
| interpreter | `interpreter_language` | a line in the letters' footer; contact forms |
| easy read, a format | `staff_actions` | a line for staff on the case page |
| contact only by | `contact_step_allowed` | the ways contact steps offer |
| times, through | `contact_step_notes` | shown on every contact step form |
| (all) | `needs_in_words` | the case page's banner |

`for_letters` is what a letter's context carries: only the needs that change how a letter is
rendered, nothing more about the person."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from domain.channels import ContactMethod

LARGE_PRINT_PT = 16  # the body of a large print letter, email and post; headings are larger


class LetterFormat(StrEnum):
    """A format the resident needs their letters in, as well as the usual one."""

    braille = "braille"
    audio = "audio"
    bsl = "bsl"  # a British Sign Language video
    accessible_document = "accessible_document"  # a document a screen reader can read
    other = "other"  # the note says which


FORMAT_LABELS: dict[LetterFormat, str] = {
    LetterFormat.braille: "Braille",
    LetterFormat.audio: "Audio",
    LetterFormat.bsl: "British Sign Language video",
    LetterFormat.accessible_document: "A document a screen reader can read",
    LetterFormat.other: "Another format (see the note)",
}

# The line for staff each format asks for: the letters go as usual, and staff send this too.
_FORMAT_ACTIONS: dict[LetterFormat, str] = {
    LetterFormat.braille: "Send a braille copy of each letter",
    LetterFormat.audio: "Send an audio version of each letter",
    LetterFormat.bsl: "Send a British Sign Language version of each letter",
    LetterFormat.accessible_document: "Send each letter as a document a screen reader can read",
    LetterFormat.other: "Send each letter in the format the note gives",
}

CONTACT_ONLY_LABELS: dict[ContactMethod, str] = {
    ContactMethod.email: "Contact by email only",
    ContactMethod.post: "Contact by post only",
    ContactMethod.phone: "Contact by phone only",
}

# What a contact-only method needs of the person: the word for it, for the rule's message.
_MEANS: dict[ContactMethod, str] = {
    ContactMethod.email: "email address",
    ContactMethod.post: "postal address",
    ContactMethod.phone: "phone number",
}


class _Model(BaseModel):
    # as domain.people.Strict (not imported: domain.people imports this module)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ContactThrough(_Model):
    """Someone to contact the resident through: a relative, a carer, an advocate."""

    name: str = Field(min_length=1, max_length=200)
    relationship: str | None = Field(default=None, max_length=100)  # "daughter"
    phone: str | None = Field(default=None, max_length=40)
    email: EmailStr | None = None

    @model_validator(mode="after")
    def _reachable(self) -> ContactThrough:
        if self.phone is None and self.email is None:
            raise ValueError(
                "give a phone number or an email address for the person to contact through"
            )
        return self


class Adjustments(_Model):
    """The resident's needs; every field is optional, and an empty model needs nothing."""

    large_print: bool = False  # letters and printable post at LARGE_PRINT_PT or larger
    easy_read: bool = False
    preferred_format: LetterFormat | None = None
    # an interpreter or translation is needed, in this language
    interpreter_language: str | None = Field(default=None, min_length=1, max_length=60)
    contact_only_by: ContactMethod | None = None
    contact_times: str | None = Field(default=None, min_length=1, max_length=200)  # "after 10am"
    contact_through: ContactThrough | None = None
    note: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _other_format_named(self) -> Adjustments:
        if self.preferred_format is LetterFormat.other and not self.note:
            raise ValueError("the preferred format is other: say which format in the note")
        return self

    @property
    def empty(self) -> bool:
        return self == Adjustments()


def needs_of(person: Any) -> Adjustments | None:
    """The needs of a resident or an enquirer: their `adjustments`, with the free text of a
    case lodged before them (`reasonable_adjustments`) as the note; None when there are none."""
    adjustments: Adjustments | None = getattr(person, "adjustments", None)
    text = getattr(person, "reasonable_adjustments", None)
    if adjustments is None:
        return Adjustments(note=text) if text else None
    if text and not adjustments.note:
        adjustments = adjustments.model_copy(update={"note": text})
    return None if adjustments.empty else adjustments


def letter_font_size(adjustments: Adjustments | None) -> int | None:
    """The size of a letter's body in points: LARGE_PRINT_PT for large print, None for the
    usual size."""
    return LARGE_PRINT_PT if adjustments is not None and adjustments.large_print else None


def interpreter_language(adjustments: Adjustments | None) -> str | None:
    """The language an interpreter or a translation is needed in, if one is."""
    return adjustments.interpreter_language if adjustments is not None else None


def contact_methods_allowed(adjustments: Adjustments | None) -> frozenset[ContactMethod]:
    """The ways we may contact the resident: the one they asked for only, or any."""
    if adjustments is not None and adjustments.contact_only_by is not None:
        return frozenset({adjustments.contact_only_by})
    return frozenset(ContactMethod)


def contact_allowed(adjustments: Adjustments | None, method: ContactMethod) -> bool:
    return method in contact_methods_allowed(adjustments)


# The ways a contact step records or sends contact (a complaint's `RecordContact.method`, an
# enquiry's `ReplyVia` and `UpdatePreference`), as the contact method each is. Social media is
# none of them, so any "only by" rules it out; in person is never ruled out (the resident came
# to us, or agreed the visit).
STEP_WAYS: dict[str, ContactMethod | None] = {
    "phone": ContactMethod.phone,
    "video": ContactMethod.phone,
    "email": ContactMethod.email,
    "letter": ContactMethod.post,
    "social_media": None,
}


def contact_step_allowed(adjustments: Adjustments | None, way: str) -> bool:
    """Whether a contact step may offer `way` (a key of STEP_WAYS, or "in_person")."""
    if way == "in_person":
        return True
    method = STEP_WAYS.get(way)
    if method is None:
        return adjustments is None or adjustments.contact_only_by is None
    return contact_allowed(adjustments, method)


def contact_only_problem(
    adjustments: Adjustments | None, *, email: object, phone: object, address: object
) -> str | None:
    """Why a person's details do not allow the only contact method their needs name (no email
    address for "email only"), in the words of the model's rules; None if they do."""
    only = adjustments.contact_only_by if adjustments is not None else None
    if only is None:
        return None
    given = {ContactMethod.email: email, ContactMethod.post: address, ContactMethod.phone: phone}
    if given[only] is None:
        return f"contact is by {only.value} only but no {_MEANS[only]} was given"
    return None


def for_letters(adjustments: Adjustments | None) -> Adjustments | None:
    """What a letter's context carries: the needs that change how a letter is rendered (large
    print, the interpreter's language) and nothing else; None when none does."""
    if adjustments is None:
        return None
    kept = Adjustments(
        large_print=adjustments.large_print,
        interpreter_language=adjustments.interpreter_language,
    )
    return None if kept.empty else kept


def _through_words(through: ContactThrough) -> str:
    who = through.name + (f" ({through.relationship})" if through.relationship else "")
    return ", ".join([who, *(x for x in (through.phone, through.email) if x)])


def staff_actions(adjustments: Adjustments | None) -> list[str]:
    """What staff must do by hand for each letter: an easy read version, another format. The
    letter itself is unchanged (its footer already offers other formats)."""
    if adjustments is None:
        return []
    actions = []
    if adjustments.easy_read:
        actions.append("Send an easy read version of each letter")
    if adjustments.preferred_format is not None:
        actions.append(_FORMAT_ACTIONS[adjustments.preferred_format])
    return actions


def contact_step_notes(adjustments: Adjustments | None) -> list[str]:
    """What every form that contacts the resident shows: the interpreter's language, the only
    method, the times, who to go through."""
    if adjustments is None:
        return []
    notes = []
    if adjustments.interpreter_language:
        notes.append(f"Interpreter needed: {adjustments.interpreter_language}")
    if adjustments.contact_only_by is not None:
        notes.append(CONTACT_ONLY_LABELS[adjustments.contact_only_by])
    if adjustments.contact_times:
        notes.append(f"Contact times: {adjustments.contact_times}")
    if adjustments.contact_through is not None:
        notes.append(f"Contact through: {_through_words(adjustments.contact_through)}")
    return notes


def needs_in_words(adjustments: Adjustments | None) -> list[str]:
    """Each need in plain words, for the case page's banner (the note is shown apart)."""
    if adjustments is None:
        return []
    words = []
    if adjustments.large_print:
        words.append(f"Large print letters ({LARGE_PRINT_PT} pt)")
    if adjustments.easy_read:
        words.append("Easy read")
    if adjustments.preferred_format is not None:
        words.append(f"Preferred format: {FORMAT_LABELS[adjustments.preferred_format]}")
    if adjustments.interpreter_language:
        words.append(f"Interpreter: {adjustments.interpreter_language}")
    return words + [n for n in contact_step_notes(adjustments) if not n.startswith("Interpreter")]
