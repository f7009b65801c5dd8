"""The reasonable adjustments boxes every intake form shares (the staff's "log a complaint" and
"log an enquiry", the residents' complaint form): GOV.UK checkboxes, one a need, each revealing
the boxes it asks for, and the note. `adjustments_payload` reads them into the domain model's
shape (domain/adjustments.py `Adjustments`); the model checks them.

The boxes, by name (a staff form's ids are "<kind>-<name>", the residents' form's the names):
need_large_print, need_easy_read, need_format (reveals `format`), need_interpreter (reveals
`interpreter_language`), need_contact_only (reveals `contact_only_by`), need_contact_times
(reveals `contact_times`), need_contact_through (reveals through_name, through_relationship,
through_phone, through_email), and the note `reasonable_adjustments` (the box that took the free
text before, kept so old pages post what they did)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from domain.adjustments import FORMAT_LABELS
from domain.channels import ContactMethod

NEEDS = (
    "large_print",
    "easy_read",
    "format",
    "interpreter",
    "contact_only",
    "contact_times",
    "contact_through",
)
CHECKBOXES = tuple(f"need_{n}" for n in NEEDS)
REVEALED = (
    "format",
    "interpreter_language",
    "contact_only_by",
    "contact_times",
    "through_name",
    "through_relationship",
    "through_phone",
    "through_email",
)
NOTE = "reasonable_adjustments"
FIELDS = (*CHECKBOXES, *REVEALED, NOTE)  # in the order of the page

FORMAT_CHOICES: list[tuple[str, str]] = [(f.value, label) for f, label in FORMAT_LABELS.items()]
CONTACT_ONLY_CHOICES: list[tuple[str, str]] = [
    (ContactMethod.email.value, "Email only"),
    (ContactMethod.post.value, "Post only"),
    (ContactMethod.phone.value, "Phone only"),
]
# The boxes of the person to contact through, by ContactThrough's fields (for their limits).
THROUGH_BOXES = {
    "name": "through_name",
    "relationship": "through_relationship",
    "phone": "through_phone",
}
# Where an error in the model's `adjustments` goes: the box named here (a loc under it).
ERROR_BOXES: dict[tuple[str, ...], str] = {
    (): NOTE,  # the model's own rule: another format is named in the note
    ("large_print",): "need_large_print",
    ("easy_read",): "need_easy_read",
    ("preferred_format",): "format",
    ("interpreter_language",): "interpreter_language",
    ("contact_only_by",): "contact_only_by",
    ("contact_times",): "contact_times",
    ("contact_through",): "through_phone",  # its own rule: a phone number or an email address
    ("contact_through", "name"): "through_name",
    ("contact_through", "relationship"): "through_relationship",
    ("contact_through", "phone"): "through_phone",
    ("contact_through", "email"): "through_email",
    ("note",): NOTE,
}


def error_box(loc: tuple[Any, ...]) -> str:
    """The box an error at `loc` (under the model's `adjustments`) belongs to."""
    for n in range(len(loc), -1, -1):
        found = ERROR_BOXES.get(tuple(str(part) for part in loc[:n]))
        if found:
            return found
    return NOTE


def adjustments_payload(get: Callable[[str], str]) -> dict[str, Any] | None:
    """The needs ticked (`get(name)` is a box's value, "" if blank), each with what it
    reveals, and the note; None when nothing is ticked or written. A ticked need whose box is
    left blank is sent blank, so the model names what is missing."""

    def ticked(need: str) -> bool:
        return get(f"need_{need}") == "yes"

    data: dict[str, Any] = {}
    if ticked("large_print"):
        data["large_print"] = True
    if ticked("easy_read"):
        data["easy_read"] = True
    if ticked("format"):
        data["preferred_format"] = get("format")
    if ticked("interpreter"):
        data["interpreter_language"] = get("interpreter_language")
    if ticked("contact_only"):
        data["contact_only_by"] = get("contact_only_by")
    if ticked("contact_times"):
        data["contact_times"] = get("contact_times")
    if ticked("contact_through"):
        data["contact_through"] = {
            "name": get("through_name"),
            "relationship": get("through_relationship") or None,
            "phone": get("through_phone") or None,
            "email": get("through_email") or None,
        }
    if get(NOTE):
        data["note"] = get(NOTE)
    return data or None
