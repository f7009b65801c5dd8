"""The queue pages' "Previous page" and "Next page" links, through the admin app and the records
database alone: they carry an opaque cursor (a deadline and a reference, no personal data), walk
the queue one page at a time, each case once, while cases close and arrive between clicks; a
cursor that cannot be read gives the first page and says so; the JSON API takes the same cursors
(and still takes page numbers) and answers 422 for one it cannot read."""

from __future__ import annotations

import base64
import html
import json
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from domain.records import CaseSnapshot, RecordRequest
from records.store import RecordsStore
from tests.admin.conftest import admin_http, admin_sign_in
from tests.admin.test_pages import pin_clock, queue_rows, text
from tests.support import london

MO = "mo.manager"
NOW = london(2027, 3, 8, 9)


def snapshot(n: int, **changes: Any) -> CaseSnapshot:
    """Case n: due n // 2 hours from now, so pairs tie and the reference breaks the tie."""
    reference = f"CMP-{n:04d}-KEYS"
    values: dict[str, Any] = {
        "reference": reference,
        "workflow_id": f"complaint-{reference}",
        "stage": "stage1",
        "status": "investigating",
        "resident_name": f"Private Person{n}",
        "postcode": "TN13 1AA",
        "channel": "phone",
        "received_at": NOW - timedelta(days=3),
        "next_deadline": NOW + timedelta(hours=2 + n // 2),
        "next_deadline_label": "Stage 1: response",
        "updated_at": NOW,
    }
    values.update(changes)
    return CaseSnapshot.model_validate(values)


def fill(store: RecordsStore, count: int) -> list[str]:
    """`count` open cases; their references in the team queue's order."""
    for n in range(count):
        store.record(RecordRequest(snapshot=snapshot(n)))
    return [f"CMP-{n:04d}-KEYS" for n in range(count)]


def link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a rel="{rel}" href="([^"]+)"', page)
    return html.unescape(found.group(1)) if found else None


def cursor_of(url: str) -> str:
    found = re.search(r"[?&]cursor=([^&]+)", url)
    assert found, url
    return found.group(1)


async def walk(http: httpx.AsyncClient, url: str) -> list[str]:
    """The pages from `url` on by "Next page": each page's text."""
    pages = [(await http.get(url)).text]
    while (following := link(pages[-1], "next")) is not None:
        assert len(pages) < 10
        pages.append((await http.get(following)).text)
    return pages


async def test_next_and_previous_links_walk_the_queue_by_cursor(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    pin_clock(app, NOW)
    order = fill(store, 60)
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        pages = await walk(http, "/queues/team")
        assert [list(queue_rows(p)) for p in pages] == [order[:25], order[25:50], order[50:]]
        assert [re.search(r"Showing [^.]*\.", text(p)).group(0) for p in pages] == [  # type: ignore[union-attr]
            "Showing 1 to 25 of 60 cases.",
            "Showing 26 to 50 of 60 cases.",
            "Showing 51 to 60 of 60 cases.",
        ]
        assert link(pages[0], "prev") is None and link(pages[-1], "next") is None
        assert 'aria-current="page">Page 2 of 3<' in pages[1]
        assert "page=" not in pages[0], "no page-number links: Previous and Next"

        # the link says nothing about anyone: a deadline and a reference, encoded
        following = link(pages[0], "next")
        assert following is not None
        assert "Private" not in following and "TN13" not in following
        raw = cursor_of(following)
        decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
        assert decoded[4] == [
            datetime.fromisoformat(decoded[4][0]).isoformat(),
            order[24],
        ], "the last row's due time and reference"

        back = link(pages[2], "prev")
        assert back is not None
        second = (await http.get(back)).text
        assert list(queue_rows(second)) == order[25:50]
        first = (await http.get(link(second, "prev") or "")).text
        assert list(queue_rows(first)) == order[:25]
        assert "Showing 1 to 25 of 60 cases." in text(first)

        # the column headings start the queue again in their order, from its first page
        heading = re.search(r'<th scope="col"[^>]*>\s*<a href="([^"]+)">Reference', second)
        assert heading and "cursor" not in heading.group(1)


async def test_a_case_closed_and_one_arriving_between_clicks_change_nothing_shown_twice(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    pin_clock(app, NOW)
    order = fill(store, 60)
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        first = (await http.get("/queues/team")).text
        # two cases on the first page close and a new one arrives, due last: by page numbers
        # (an OFFSET) the second page would now start two cases late
        for n in (3, 5):
            closed = snapshot(n).model_copy(
                update={
                    "stage": "closed",
                    "status": "closed",
                    "next_deadline": None,
                    "updated_at": NOW + timedelta(minutes=5),
                }
            )
            store.record(RecordRequest(snapshot=closed))
        store.record(RecordRequest(snapshot=snapshot(99)))
        rest = await walk(http, link(first, "next") or "")
        shown = [r for p in rest for r in queue_rows(p)]
        assert shown == [*order[25:], "CMP-0099-KEYS"], "on from the first page's last, once"
        assert "Showing 24 to 48 of 59 cases." in text(rest[0]), "counted as the queue is now"
        # back from there: fewer than a page before it now, so the first page as it is, full
        again = (await http.get(link(rest[0], "prev") or "")).text
        assert list(queue_rows(again)) == [r for r in order if r not in (order[3], order[5])][:25]
        assert link(again, "prev") is None


async def test_a_cursor_that_cannot_be_read_gives_the_first_page(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    pin_clock(app, NOW)
    order = fill(store, 30)
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        good = link((await http.get("/queues/team")).text, "next") or ""
        for bad in ("garbled", cursor_of(good)[:-7], "%00%ff", "x" * 3000):
            answer = await http.get("/queues/team", params={"cursor": bad})
            assert answer.status_code == 200
            assert list(queue_rows(answer.text)) == order[:25]
            assert "That page link could not be read" in text(answer.text)
        # a cursor of one order is not read in another
        other = await http.get("/queues/team", params={"cursor": cursor_of(good), "sort": "stage"})
        assert "That page link could not be read" in text(other.text)


async def test_the_api_walks_by_cursor_and_still_takes_page_numbers(
    offline_admin_app: FastAPI, store: RecordsStore
) -> None:
    app = offline_admin_app
    pin_clock(app, NOW)
    order = fill(store, 60)
    async with admin_http(app) as http:
        await admin_sign_in(http, MO)
        listed: list[str] = []
        answer = (await http.get("/api/cases", params={"queue": "team"})).json()
        pages = [answer]
        while answer["next_cursor"]:
            query = {"queue": "team", "cursor": answer["next_cursor"]}
            answer = (await http.get("/api/cases", params=query)).json()
            pages.append(answer)
        listed = [c["reference"] for p in pages for c in p["cases"]]
        assert listed == order
        assert [(p["page"], p["pages"], p["total"], p["total_exact"]) for p in pages] == [
            (1, 3, 60, True),
            (2, 3, 60, True),
            (3, 3, 60, True),
        ]
        query = {"queue": "team", "cursor": pages[2]["previous_cursor"]}
        back = (await http.get("/api/cases", params=query)).json()
        assert [c["reference"] for c in back["cases"]] == order[25:50]

        numbered = (await http.get("/api/cases", params={"queue": "team", "page": 2})).json()
        assert [c["reference"] for c in numbered["cases"]] == order[25:50]
        assert numbered["next_cursor"], "a numbered page gives cursors on from it"

        bad = await http.get("/api/cases", params={"queue": "team", "cursor": "garbled"})
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["field"] == "cursor"
