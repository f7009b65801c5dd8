"""The case file in one click: everything held on a case, as one PDF (WeasyPrint, as the reports
are printed: admin/pdf.py), and as a ZIP holding that PDF and every attachment byte for byte.
This is what the landlord sends when the Housing Ombudsman asks for the evidence on a case.

The PDF (admin/templates/case_file_print.html) holds, in order: an index with page numbers; the
case summary; every deadline with what became of it (met, or breached: met late or missed); the
full timeline (steps, letters, evidence) with who did what; every letter as sent (the letters
ledger's `body_html`: the letter itself, its own styles dropped for the file's); the notes (each
note staff recorded with a step, and each file's note); and the list of attachments, each with
its name inside the ZIP and its SHA-256, so a reader can match and check every file.

The ZIP (`case-file-<ref>.zip`) is written to a temporary file one attachment at a time, so a
case with many large files never sits in memory whole. Building either is blocking (WeasyPrint,
storage reads): call `build_pdf` and `write_zip` off the event loop (admin/off_loop.py).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from admin.app import LONDON, templates
from admin.case_kinds import CaseKind
from admin.pdf import to_pdf
from config import Landlord
from domain.clocks import Clock, ClockKey
from records.evidence import CaseEvidence, EvidenceItem
from records.storage import EvidenceStorage
from records.store import LetterRow

# steps whose timeline line is a note staff wrote (the contact, what was done, why it closed)
NOTE_STEPS = frozenset(
    {
        "record_contact",
        "record_service_request",
        "complete_action",
        "record_compensation",
        "record_evidence_sent",
        "record_order_complied",
        "withdraw",
        "decline",
        "close",
    }
)
STORED_TYPES = ("image/", "application/pdf", "application/vnd.openxmlformats")  # compressed
_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_DROP = re.compile(r"<(script|style|head)\b.*?</\1\s*>", re.S | re.I)


@dataclass(frozen=True)
class Row:
    """A line of the file's timeline: when, what, who (a name and staff id, or the system)."""

    at: datetime | None
    what: str
    who: str


@dataclass(frozen=True)
class Note:
    at: datetime
    who: str
    text: str


@dataclass(frozen=True)
class Deadline:
    label: str
    due: datetime
    original_due: datetime
    outcome: str  # "Met", "Breached: met late", "Breached: missed", ...
    breached: bool
    when: datetime | None  # met, missed, or stopped


@dataclass
class CaseFile:
    """What the case file is made of, gathered by admin/routes/evidence.py."""

    kind: CaseKind
    case: Any  # the kind's status model: live, or as last recorded
    notice: str | None  # why it is the last record, if it is
    summary: list[tuple[str, str]]
    deadlines: list[Deadline]
    timeline: list[Row]
    letters: list[LetterRow]
    notes: list[Note]
    evidence: CaseEvidence
    landlord: Landlord
    printed_at: datetime
    printed_by: str
    names: dict[str, str] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        return str(self.case.reference)

    @property
    def pdf_name(self) -> str:
        return f"case-file-{self.reference}.pdf"

    @property
    def zip_name(self) -> str:
        return f"case-file-{self.reference}.zip"

    def attachment_names(self) -> dict[int, str]:
        """Each file's name inside the ZIP: numbered in the list's order, so two files of the
        same name never collide and the PDF's list names them as the ZIP does."""
        return {
            f.id: f"attachments/{n:02d}-{f.download_name}"
            for n, f in enumerate(self.evidence.files, start=1)
        }


def who(actor: str | None, names: dict[str, str]) -> str:
    if not actor:
        return "The system"
    name = names.get(actor)
    return f"{name} ({actor})" if name else actor


def deadline(clock: Clock) -> Deadline:
    """What became of a clock, in the words the Ombudsman reads: met, or breached."""
    if clock.key is ClockKey.escalation_window:  # a window the resident may use, not a promise
        if clock.met_at:
            outcome, when = "Used: the resident asked for stage 2", clock.met_at
        elif clock.lapsed_at:
            outcome, when = "Ended without a request for stage 2", clock.lapsed_at
        elif clock.stopped_at:
            outcome, when = "No longer needed", clock.stopped_at
        else:
            outcome, when = "Open", None
        return Deadline(clock.label, clock.due, clock.original_due, outcome, False, when)
    breached = clock.breached_at is not None
    if clock.met_at:
        outcome = "Breached: met late" if breached else "Met"
        when = clock.met_at
    elif breached:
        outcome, when = "Breached: missed", clock.breached_at
    elif clock.stopped_at:
        outcome, when = "No longer needed (not breached)", clock.stopped_at
    else:
        outcome, when = "Not yet due", None
    return Deadline(clock.label, clock.due, clock.original_due, outcome, breached, when)


def notes_of(timeline: list[Any], evidence: CaseEvidence, names: dict[str, str]) -> list[Note]:
    found = [
        Note(at=i.at, who=who(i.actor, names), text=i.summary)
        for i in timeline
        if str(i.step) in NOTE_STEPS
    ]
    found += [
        Note(at=f.uploaded_at, who=who(f.uploaded_by, names), text=f"{f.filename}: {f.note}")
        for f in evidence.files
        if f.note
    ]
    return sorted(found, key=lambda n: n.at)


def letter_body(body_html: str | None) -> Markup:
    """A sent letter's own content (its <body>), for the file: our own rendered and escaped
    letter, with its styles, scripts (there are none) and head dropped."""
    if not body_html:
        return Markup("")
    found = _BODY.search(body_html)
    inner = found.group(1) if found else body_html
    return Markup(_DROP.sub("", inner))  # the ledger's own rendered, escaped letter


def london(value: datetime | None) -> str:
    return value.astimezone(LONDON).strftime("%a %d %b %Y %H:%M") if value else ""


def build_pdf(parts: CaseFile) -> bytes:
    """The case file as one PDF (blocking)."""
    html = templates.env.get_template("case_file_print.html").render(
        file=parts,
        case=parts.case,
        kind=parts.kind,
        attachments=parts.attachment_names(),
        letter_body=letter_body,
        when=london,
    )
    return to_pdf(html)


def write_zip(
    parts: CaseFile, pdf: bytes, storage: EvidenceStorage, into: Path
) -> list[EvidenceItem]:
    """The ZIP at `into`: the PDF and every attachment, read from the storage one at a time
    (blocking). The files written, in order."""
    names = parts.attachment_names()
    with zipfile.ZipFile(into, "w") as archive:
        archive.writestr(parts.pdf_name, pdf, compress_type=zipfile.ZIP_STORED)
        for item in parts.evidence.files:
            stored = item.content_type.startswith(STORED_TYPES)
            archive.writestr(
                names[item.id],
                storage.get(item.sha256),
                compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED,
            )
    return list(parts.evidence.files)
