"""Letters to a resident with needs (domain/adjustments.py): large print at 16 pt or larger in
the email and in the printable post version, headings larger still; the interpreter's language
offered in the footer; nothing changed for a resident without them, or for staff letters."""

from __future__ import annotations

import re

import pytest

from config import Settings
from domain.adjustments import LARGE_PRINT_PT, Adjustments
from domain.letters import STAFF_LETTERS, Delivery, LetterKind
from letters.render import render_letter
from tests.letters.conftest import request_for

LARGE = Adjustments(large_print=True)
POLISH = Adjustments(interpreter_language="Polish")


def _html(settings: Settings, kind: LetterKind, delivery: Delivery, **context: object) -> str:
    return render_letter(request_for(kind, delivery, **context), settings).html


def _css_rule(html: str, selector: str, *, print_media: bool) -> str:
    """The declarations of the first `selector { ... }` rule, inside or outside @media print."""
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    screen, _, printing = style.partition("@media print")
    match = re.search(
        rf"(?m)^\s*{re.escape(selector)} \{{([^}}]*)\}}", printing if print_media else screen
    )
    assert match, f"no {selector} rule"
    return match.group(1)


def _points(declarations: str) -> float:
    size = re.search(r"font-size:\s*([\d.]+)(pt|px)", declarations)
    assert size, declarations
    value = float(size.group(1))
    return value if size.group(2) == "pt" else value * 0.75


@pytest.mark.parametrize(
    "kind",
    [LetterKind.stage1_acknowledgement, LetterKind.stage1_response, LetterKind.enquiry_reply],
)
def test_large_print_letters_are_16_pt_by_email_and_by_post(settings: Settings, kind) -> None:
    email = _html(settings, kind, Delivery.email, adjustments=LARGE)
    body = _points(_css_rule(email, "body", print_media=False))
    assert body >= 16 and body == LARGE_PRINT_PT
    assert "font-size: 16pt" in _css_rule(email, "body", print_media=False)
    post = _html(settings, kind, Delivery.post, adjustments=LARGE)
    assert _points(_css_rule(post, "body", print_media=False)) >= 16  # the page on screen
    assert _points(_css_rule(post, "body", print_media=True)) >= 16  # the page printed
    # headings are sized in em of the body: larger than it
    h1 = re.search(r"font-size:\s*([\d.]+)em", _css_rule(email, "h1", print_media=False))
    assert h1 and float(h1.group(1)) > 1
    # the footer is not made smaller than the body
    assert "font-size: 1em" in _css_rule(email, ".footer", print_media=False)


def test_without_the_need_letters_are_the_usual_size(settings: Settings) -> None:
    kind = LetterKind.stage1_acknowledgement
    email = _html(settings, kind, Delivery.email)
    assert _points(_css_rule(email, "body", print_media=False)) < 16
    post = _html(settings, kind, Delivery.post)
    assert _points(_css_rule(post, "body", print_media=True)) == 11
    other = _html(settings, kind, Delivery.post, adjustments=POLISH)
    assert _points(_css_rule(other, "body", print_media=True)) == 11
    assert "16pt" not in email + post + other


def test_the_interpreters_language_is_offered_in_the_footer(settings: Settings) -> None:
    letter = render_letter(
        request_for(LetterKind.stage1_acknowledgement, Delivery.email, adjustments=POLISH),
        settings,
    )
    footer = letter.html.split('<footer class="footer">', 1)[1]
    phone = settings.landlord.phone
    line = f"If you would like this letter in Polish, or an interpreter, call us on {phone}."
    assert line in " ".join(footer.split())
    assert line in " ".join(letter.text.split())  # the plain-text alternative too
    plain = _html(settings, LetterKind.stage1_acknowledgement, Delivery.email)
    assert "or an interpreter" not in plain


def test_staff_letters_are_unchanged(settings: Settings) -> None:
    for kind in STAFF_LETTERS:
        html = _html(
            settings,
            kind,
            Delivery.email,
            adjustments=Adjustments(large_print=True, interpreter_language="Polish"),
        )
        assert "16pt" not in html and "Polish" not in html
