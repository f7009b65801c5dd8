"""Which files are kept as evidence: judged by content (magic bytes, OOXML content types, plain
text), never by name; sizes; safe file names (domain/evidence.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from domain.evidence import (
    DOCX,
    HEIC,
    JPEG,
    PDF,
    PNG,
    PPTX,
    TEXT,
    WEBP,
    XLSX,
    EvidenceRefused,
    check_file,
    detect,
    download_name,
    safe_filename,
)

MB = 1024 * 1024
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + bytes(range(256))
PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)
WINDOWS_EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(128)
ELF = b"\x7fELF\x02\x01\x01" + bytes(64)

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/{part}" ContentType="{main}"/>
</Types>"""


def ooxml(part: str, main: str, extra: dict[str, bytes] | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES.format(part=part, main=main))
        archive.writestr(part, "<x/>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return out.getvalue()


WORD = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
EXCEL = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
SLIDES = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
WORD_MACROS = "application/vnd.ms-word.document.macroEnabled.main+xml"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG_BYTES, JPEG),
        (PNG_BYTES, PNG),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(32), WEBP),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(16), HEIC),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", PDF),
        (ooxml("word/document.xml", WORD), DOCX),
        (ooxml("xl/workbook.xml", EXCEL), XLSX),
        (ooxml("ppt/presentation.xml", SLIDES), PPTX),
        (b"Meter reading 01234\r\nTaken 3 March\n", TEXT),
        ("Café, £20 — thanks".encode(), TEXT),  # UTF-8
        ("Café, £20".encode("cp1252"), TEXT),  # Windows-1252 from an old Notepad
    ],
)
def test_kept_types_are_known_by_their_content(data: bytes, expected: object) -> None:
    assert detect(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        WINDOWS_EXE,
        ELF,
        b"\xca\xfe\xba\xbe" + bytes(32),  # Mach-O / Java class
        ooxml("word/document.xml", WORD_MACROS),  # .docm: macros
        ooxml("other.xml", "application/xml"),  # a ZIP but no Office document
        b"PK\x03\x04" + bytes(40),  # a broken ZIP
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(64),  # legacy .doc/.xls (OLE)
        b"GIF89a" + bytes(16),
        b"text with a bell \x07 in it",
    ],
)
def test_anything_else_is_refused(data: bytes) -> None:
    assert detect(data) is None


def test_an_executable_renamed_jpg_is_refused_naming_the_file() -> None:
    with pytest.raises(EvidenceRefused) as refused:
        check_file("holiday photo.jpg", WINDOWS_EXE, 20 * MB)
    assert refused.value.reason == "type"
    assert refused.value.message.startswith("“holiday photo.jpg” is not a type of file we can keep")
    assert "whatever its name says" in refused.value.message


def test_a_file_over_the_limit_is_refused_with_its_size_and_the_limit() -> None:
    with pytest.raises(EvidenceRefused) as refused:
        check_file("scan.pdf", b"%PDF-" + bytes(100), 20 * MB, size=25 * MB)
    assert refused.value.reason == "size"
    assert refused.value.message.startswith("“scan.pdf” is 25.0 MB: larger than the 20.0 MB")
    with pytest.raises(EvidenceRefused, match="is empty"):
        check_file("nothing.txt", b"", 20 * MB)


def test_a_checked_file_has_its_hash_type_and_a_name_matching_its_content() -> None:
    checked = check_file("report.exe", b"%PDF-1.4\n", 20 * MB)
    assert checked.content_type == "application/pdf"
    assert len(checked.sha256) == 64
    assert checked.download_name == "report.exe.pdf"
    assert download_name("Damp.JPEG", JPEG) == "Damp.JPEG"


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\Desktop\\damp.jpg", "damp.jpg"),
        ('bad"name;.pdf', "bad_name_.pdf"),
        ("  spaced\tout\n.txt ", "spaced out .txt"),
        ("\u202egnp.exe", "gnp.exe"),  # a right-to-left override hides a name's real end
        ("...", "file"),
        (None, "file"),
        ("a" * 300 + ".docx", "a" * 195 + ".docx"),
    ],
)
def test_file_names_are_made_safe(given: str | None, safe: str) -> None:
    assert safe_filename(given) == safe
