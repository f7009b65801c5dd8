"""The staff accounts pages (issue 12): a table of accounts with a Change link each, one
account's own page to change it, and the "add a member of staff" page."""

from __future__ import annotations

import re

from fastapi import FastAPI

from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import JO, MO, error_summary, post, text


async def test_the_list_links_each_account_to_its_own_page(offline_admin_app: FastAPI) -> None:
    app = offline_admin_app
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        listed = await http.get("/staff")
        assert listed.status_code == 200
        row = re.search(r'<tr id="account-jo.officer">(.*?)</tr>', listed.text, re.S)
        assert row, "a row for each account"
        cells = [text(c) for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.S)]
        assert cells == [
            "Jo Officer",
            "jo.officer",
            "Case officer",
            "Active",
            "Change Jo Officer's account",
        ]
        assert 'href="/staff/jo.officer"' in row.group(1)
        assert "<form" not in listed.text.split('id="accounts"')[1], "no form in the table"
        assert 'href="/staff/new"' in listed.text

        jo = await http.get("/staff/jo.officer")
        assert jo.status_code == 200
        assert "Change Jo Officer's account" in text(jo.text)
        assert 'action="/staff/jo.officer"' in jo.text
        assert 'id="account-jo.officer-role"' in jo.text
        assert '<form method="post" action="/staff"' not in jo.text

        new = await http.get("/staff/new")
        assert new.status_code == 200 and 'id="new-id"' in new.text
        assert 'action="/staff"' in new.text
        assert (await http.get("/staff/nobody.here")).status_code == 404

        refused = await post(
            http,
            f"/staff/{JO}",
            jo.text,
            {"role": "reviewer", "active": "yes", "password": "short"},
        )
        assert refused.status_code == 400
        assert [href for href, _ in error_summary(refused.text)] == [f"#account-{JO}-password"]
        assert "Change Jo Officer's account" in text(refused.text), "the same account's page"
        assert re.search(r'<option value="reviewer" selected>', refused.text), "choice kept"
        assert app.state.accounts.get(JO).role.value == "case_officer", "nothing changed"

    async with admin_http(app) as http:
        await admin_sign_in(http, JO)
        for path in ("/staff/new", f"/staff/{MO}"):
            assert (await http.get(path)).status_code == 403, path


async def test_new_cannot_be_a_username(offline_admin_app: FastAPI) -> None:
    """/staff/new is the add page, so an account called "new" could never be opened."""
    app = offline_admin_app
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        page = await http.get("/staff/new")
        refused = await post(
            http,
            "/staff",
            page.text,
            {
                "id": "new",
                "name": "New Person",
                "email": "new@wkha.example",
                "role": "case_officer",
                "password": "a long enough password",
            },
        )
        assert refused.status_code in (400, 409)
        assert "'new' cannot be a username" in text(refused.text)
        assert app.state.accounts.get("new") is None
