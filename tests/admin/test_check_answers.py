"""The residents' form's "check your answers" page (admin/routes/public.py): it shows what the
resident gave and nothing else, carries every answer on in hidden fields, lodges nothing, and
its Change button brings the form back with the answers kept."""

from __future__ import annotations

import html
import re

from fastapi import FastAPI

from tests.admin.conftest import admin_http, csrf_in
from tests.admin.test_pages import error_summary
from tests.admin.test_public_and_api import REFERENCE_IN_URL, form


def rows(page: str) -> dict[str, str]:
    """The summary list's answers, by question."""
    found = re.findall(
        r'<dt class="summary-list__key">([^<]*)</dt>\s*'
        r'<dd class="summary-list__value">([^<]*)</dd>',
        page,
    )
    return {html.unescape(q): html.unescape(a) for q, a in found}


def hidden_fields(page: str) -> dict[str, str]:
    found = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    return {name: html.unescape(value) for name, value in found}


async def test_the_check_page_shows_what_was_given_and_lodges_nothing(
    offline_admin_app: FastAPI,
) -> None:
    # The offline app has no Temporal: lodging would fail, so a 200 here lodged nothing.
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        answers = form(csrf, phone="", acting_for="Someone typed, then not chosen")
        check = await client.post("/complain/check", data=answers)
    assert check.status_code == 200
    assert check.headers["cache-control"] == "no-store"
    shown = rows(check.text)
    assert shown == {
        "Your full name": "Ann Example",
        "Email address": "ann@example.org",
        "Postal address": "1 High Street\nSevenoaks\ntn13 1aa",
        "How would you like us to contact you?": "Email",
        "Who is making the complaint?": "I live in one of your homes",
        "What is your complaint about?": "My boiler repair appointment was missed twice.",
        "Point 1": "The engineer did not come on 3 March",
        "Point 2": "Nobody called back when I rang",
        "What would you like us to do to put it right?": "Fix the boiler and apologise",
        "When did it happen?": "3 March 2025",
        "Anything else about the support or changes you need?": "Large print letters, please",
    }, "only what the resident gave, as they gave it"
    carried = hidden_fields(check.text)
    assert carried["description"] == answers["description"]
    assert carried["incident_date-day"] == "3" and carried["submission"]
    assert 'action="/complain"' in check.text and "Send complaint" in check.text
    assert 'formaction="/complain/change#name"' in check.text


async def test_change_brings_the_form_back_with_the_answers(offline_admin_app: FastAPI) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        check = await client.post("/complain/check", data=form(csrf))
        carried = hidden_fields(check.text)
        back = await client.post("/complain/change", data={**carried, "change": "name"})
    assert back.status_code == 200 and "error-summary" not in back.text
    assert 'id="name" name="name" type="text" value="Ann Example"' in back.text
    assert "My boiler repair appointment was missed twice." in back.text
    assert carried["submission"] in back.text, "the same submission: sent twice, lodged once"


async def test_wrong_answers_go_back_to_the_form_and_a_bot_is_fooled(
    offline_admin_app: FastAPI,
) -> None:
    async with admin_http(offline_admin_app) as client:
        csrf = csrf_in((await client.get("/complain")).text)
        bad = await client.post("/complain/check", data=form(csrf, name=""))
        bot = await client.post("/complain/check", data=form(csrf, website="http://spam"))
    assert bad.status_code == 400
    assert error_summary(bad.text) == [("#name", "Enter your full name")]
    assert bot.status_code == 303 and REFERENCE_IN_URL.match(bot.headers["location"])
