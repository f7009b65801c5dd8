"""A complaint lodged with the resident's needs (domain/adjustments.py) sends its letters in
large print (16 pt, by email and by post) with the interpreter's language offered in the footer;
a complaint without them sends the usual letters. Time-skipping server; the letters as the
records store keeps them."""

from __future__ import annotations

from tests.support import letter_keys, letter_text
from tests.workflows.test_complaint_steps import investigating

RESIDENT = {
    "name": "Ann Example",
    "email": "ann@example.org",
    "address": {"lines": ["1 High Street", "Sevenoaks"], "postcode": "TN13 1AA"},
    "preferred_contact": "email",
}
NEEDS = {"large_print": True, "interpreter_language": "Polish", "note": "Hard of hearing"}
INTERPRETER = "If you would like this letter in Polish, or an interpreter, call us"


def squash(text: str) -> str:
    return " ".join(text.split())


async def test_a_case_lodged_with_needs_sends_large_print_letters(env, worker, settings, store):
    case, _ = await investigating(
        env, settings, channel="online_form", resident={**RESIDENT, "adjustments": NEEDS}
    )
    ref = case.reference
    sent = letter_keys(store, ref)
    assert "complaint_received" in sent and len(sent) >= 2, sent
    for key in sent:
        html = letter_text(store, ref, key)
        assert "font-size: 16pt" in html, key
        assert INTERPRETER in squash(html), key
        assert "Hard of hearing" not in html  # the note is for staff, not the letter


async def test_by_post_the_printed_letter_is_large_print_too(env, worker, settings, store):
    resident = {**RESIDENT, "preferred_contact": "post", "adjustments": {"large_print": True}}
    case, _ = await investigating(env, settings, resident=resident)
    ref = case.reference
    row = store.get_letter(ref, letter_keys(store, ref)[0])
    assert row is not None and row.delivery == "post"
    html = row.body_html or ""
    assert "font-size: 16pt" in html.split("@media print", 1)[1]  # on paper
    assert "11pt" not in html


async def test_a_case_without_needs_sends_the_usual_letters(env, worker, settings, store):
    case, _ = await investigating(env, settings, channel="online_form")
    ref = case.reference
    for key in letter_keys(store, ref):
        html = letter_text(store, ref, key)
        assert "16pt" not in html and "or an interpreter" not in html
