"""Evidence on a case: which files we keep, judged by their content, never by their name.

A file is kept if its first bytes (its "magic") say it is one of the types in `TYPES`: a photo
(JPEG, PNG, HEIC/HEIF, WebP), a PDF, an Office Open XML document (Word .docx, Excel .xlsx,
PowerPoint .pptx: ZIP files whose `[Content_Types].xml` names the document's main part; macro-
enabled ones are refused) or plain text (UTF-8 or Windows-1252 without control characters).
Anything else is refused with a message naming the file, whatever its name claims: an executable
renamed `photo.jpg` is still an executable. Legacy Office files (.doc, .xls: OLE compound files)
are refused too, as they can carry macros: ask for a PDF or the newer format.

Pure: no I/O. The admin app checks every upload and every inbound email attachment with
`check_file`, then stores the bytes (records/storage.py) under their SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from xml.etree import ElementTree

from pydantic import BaseModel, ConfigDict

MB = 1024 * 1024
MAX_FILENAME = 200
MAX_NOTE = 2000
CONTENT_TYPES_PART = "[Content_Types].xml"
MAX_CONTENT_TYPES_BYTES = 256 * 1024  # a real one is a few KB


class FileType(BaseModel):
    model_config = ConfigDict(frozen=True)

    content_type: str
    label: str  # "a JPEG photo": what the timeline and the case file say
    extensions: tuple[str, ...]  # the first is added to a file name that has none of them


JPEG = FileType(content_type="image/jpeg", label="JPEG photo", extensions=(".jpg", ".jpeg"))
PNG = FileType(content_type="image/png", label="PNG image", extensions=(".png",))
WEBP = FileType(content_type="image/webp", label="WebP image", extensions=(".webp",))
HEIC = FileType(content_type="image/heic", label="HEIC photo", extensions=(".heic", ".heif"))
HEIF = FileType(content_type="image/heif", label="HEIF photo", extensions=(".heif", ".heic"))
PDF = FileType(content_type="application/pdf", label="PDF document", extensions=(".pdf",))
DOCX = FileType(
    content_type="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    label="Word document",
    extensions=(".docx",),
)
XLSX = FileType(
    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    label="Excel spreadsheet",
    extensions=(".xlsx",),
)
PPTX = FileType(
    content_type="application/vnd.openxmlformats-officedocument.presentationml.presentation",
    label="PowerPoint presentation",
    extensions=(".pptx",),
)
TEXT = FileType(
    content_type="text/plain", label="plain text file", extensions=(".txt", ".csv", ".log")
)
TYPES = (JPEG, PNG, WEBP, HEIC, HEIF, PDF, DOCX, XLSX, PPTX, TEXT)

# ISO base media file brands (bytes 8-12 of an `ftyp` box) of HEIC and HEIF photos
HEIC_BRANDS = frozenset({b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis"})
HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
# the content type [Content_Types].xml gives each OOXML document's main part
OOXML_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
}
# control characters plain text may hold: tab, line feed, form feed, carriage return
TEXT_CONTROLS = frozenset("\t\n\x0c\r")

WHAT_WE_KEEP = (
    "a photo (JPEG, PNG, HEIC or WebP), a PDF, a Word, Excel or PowerPoint document (.docx, "
    ".xlsx, .pptx) or a plain text file"
)


def detect(data: bytes) -> FileType | None:
    """The file's type from its content, or None if it is none we keep."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        return HEIC if brand in HEIC_BRANDS else HEIF if brand in HEIF_BRANDS else None
    if data.startswith(b"%PDF-"):
        return PDF
    if data.startswith(b"PK\x03\x04"):
        return _ooxml(data)
    return TEXT if _plain_text(data) else None


def _ooxml(data: bytes) -> FileType | None:
    """A .docx, .xlsx or .pptx: a ZIP whose [Content_Types].xml names the document's main part
    (read alone, size-capped: nothing else in the archive is unpacked)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            info = archive.getinfo(CONTENT_TYPES_PART)
            if info.file_size > MAX_CONTENT_TYPES_BYTES:
                return None
            xml = archive.read(info)
    except (zipfile.BadZipFile, KeyError, OSError, RuntimeError, ValueError):
        return None
    if b"<!DOCTYPE" in xml or b"<!ENTITY" in xml:  # no entity expansion, however small
        return None
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    found = {
        element.get("ContentType", "")
        for element in root
        if element.tag.rsplit("}", 1)[-1] in ("Override", "Default")
    }
    kinds = {OOXML_MAIN_PARTS[c] for c in found if c in OOXML_MAIN_PARTS}
    return kinds.pop() if len(kinds) == 1 else None


def _plain_text(data: bytes) -> bool:
    if not data or b"\x00" in data:
        return False
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            return False
    return not any(
        (ord(c) < 0x20 and c not in TEXT_CONTROLS) or 0x7F <= ord(c) < 0xA0 for c in text
    )


# ---------------------------------------------------------------------------- names and sizes


def safe_filename(name: str | None) -> str:
    """A file name as given, made safe to store, show and send back: no folders (either slash),
    no control or format characters, no quotes or semicolons, at most MAX_FILENAME characters,
    never empty or a dot name."""
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c if unicodedata.category(c)[0] not in "CZ" or c == " " else " " for c in name)
    name = re.sub(r'["<>|:*?;]', "_", name)
    name = " ".join(name.split()).strip(". ")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 10:
            name = stem[: MAX_FILENAME - len(ext) - 1].rstrip() + "." + ext
        else:
            name = name[:MAX_FILENAME].rstrip()
    return name or "file"


def download_name(filename: str, file_type: FileType) -> str:
    """The name a file is downloaded under: its own, with the extension of what it really is
    added when its name says otherwise ("scan.exe" that is a PDF downloads as "scan.exe.pdf")."""
    if filename.lower().endswith(file_type.extensions):
        return filename
    return filename + file_type.extensions[0]


def size_in_words(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} bytes"


# ---------------------------------------------------------------------------------- checking


class EvidenceRefused(ValueError):
    """A file we do not keep; `message` names it and says what to do, in plain English."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason  # "size", "empty" or "type": safe to log, unlike the file's name


class CheckedFile(BaseModel):
    """A file that passed the checks: what the records keep about it."""

    model_config = ConfigDict(frozen=True)

    filename: str  # as given, made safe
    content_type: str  # from its content
    label: str
    size: int
    sha256: str

    @property
    def download_name(self) -> str:
        return download_name(self.filename, type_of(self.content_type))


def type_of(content_type: str) -> FileType:
    return next((t for t in TYPES if t.content_type == content_type), TEXT)


def check_file(
    filename: str | None, data: bytes, max_bytes: int, size: int | None = None
) -> CheckedFile:
    """The file checked by its content and size: a CheckedFile, or EvidenceRefused naming it.
    `size`: the whole file's size when `data` is only its start (an upload read no further than
    the limit)."""
    name = safe_filename(filename)
    size = max(size or 0, len(data))
    if size > max_bytes:
        raise EvidenceRefused(
            f"“{name}” is {size_in_words(size)}: larger than the "
            f"{size_in_words(max_bytes)} a file may be. Upload a smaller copy (a photo at a "
            "lower resolution, a document split in parts).",
            "size",
        )
    if not data:
        raise EvidenceRefused(f"“{name}” is empty. Choose the file again.", "empty")
    file_type = detect(data)
    if file_type is None:
        raise EvidenceRefused(
            f"“{name}” is not a type of file we can keep: its contents are not {WHAT_WE_KEEP}, "
            "whatever its name says. Save it as one of those and upload it again.",
            "type",
        )
    return CheckedFile(
        filename=name,
        content_type=file_type.content_type,
        label=file_type.label,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )
