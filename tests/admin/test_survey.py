"""The satisfaction survey page, `/survey/<token>`, open without sign-in: the link works once; a
tampered link is refused (404 "This link is not valid"); a reused one is told it was already
answered (409), even when two posts arrive together; the reply is in `satisfaction_replies`
(SQLite, and PostgreSQL when TEST_DATABASE_URL is set); the page shows the case's reference and
nothing else; both verbs are rate limited per address."""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from admin.app import create_app
from config import Settings
from domain.records import RecordRequest
from domain.satisfaction import QUESTION, Rating
from letters.survey import make_token
from records.satisfaction import SatisfactionReplies
from records.schema import SatisfactionReply
from records.store import RecordsStore
from tests.admin.conftest import admin_http, csrf_in
from tests.records.test_store import T0, snapshot
from tests.support import records_on

REF = "CMP-2025-0001"
NONCE = "0123456789abcdef0123456789abcdef"
LIMIT = 10


def text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordsStore]:
    """The records on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set."""
    with records_on(request.param, tmp_path, "survey") as found:
        yield found


@pytest.fixture
def app(admin_settings: Settings, store: RecordsStore) -> FastAPI:
    store.record(RecordRequest(snapshot=snapshot(REF, updated_at=T0)))
    limited = admin_settings.model_copy(
        update={"public_page_limit_per_address": f"{LIMIT} per 10 minutes"}
    )
    return create_app(limited, store)


@pytest.fixture
def link(admin_settings: Settings) -> str:
    return f"/survey/{make_token(admin_settings, REF, NONCE)}"


def _count(store: RecordsStore) -> int:
    with store.reading() as session:
        return session.scalar(select(func.count()).select_from(SatisfactionReply)) or 0


async def test_the_link_works_once(app: FastAPI, store: RecordsStore, link: str) -> None:
    async with admin_http(app) as resident:
        page = await resident.get(link)
        assert page.status_code == 200, page.text
        shown = text(page.text)
        assert QUESTION in shown
        assert REF in shown
        for label in ("Very satisfied", "Very dissatisfied"):
            assert label in shown
        assert "Amina Okafor" not in shown and "Damp" not in shown  # nothing about the case
        csrf = csrf_in(page.text)
        sent = await resident.post(
            link, data={"rating": "4", "comment": " Kept me informed. ", "csrf_token": csrf}
        )
        assert sent.status_code == 200, sent.text
        assert "Thank you" in text(sent.text)

        again = await resident.get(link)
        assert again.status_code == 409
        assert "You have already answered. Thank you." in text(again.text)
        resent = await resident.post(link, data={"rating": "1", "csrf_token": csrf})
        assert resent.status_code == 409
        assert "You have already answered. Thank you." in text(resent.text)

    reply = SatisfactionReplies(store).for_case(REF)
    assert reply is not None
    assert (reply.rating, reply.comment, reply.nonce) == (
        Rating.fairly_satisfied,
        "Kept me informed.",
        NONCE,
    )
    assert _count(store) == 1


async def test_a_tampered_link_is_refused(app: FastAPI, store: RecordsStore, link: str) -> None:
    token = link.removeprefix("/survey/")
    forged = make_token(Settings(survey_secret="not our secret"), REF, NONCE)
    tampered = [token[:-3] + ("abc" if not token.endswith("abc") else "xyz"), forged, "rubbish"]
    async with admin_http(app) as resident:
        csrf = csrf_in((await resident.get(link)).text)
        for bad in tampered:
            page = await resident.get(f"/survey/{bad}")
            assert page.status_code == 404, bad
            assert "This link is not valid" in text(page.text)
            sent = await resident.post(f"/survey/{bad}", data={"rating": "5", "csrf_token": csrf})
            assert sent.status_code == 404, bad
    assert _count(store) == 0


async def test_a_post_without_the_csrf_token_is_refused(
    app: FastAPI, store: RecordsStore, link: str
) -> None:
    async with admin_http(app) as resident:
        await resident.get(link)
        sent = await resident.post(link, data={"rating": "5"})
    assert sent.status_code == 403
    assert _count(store) == 0


async def test_a_missing_answer_or_a_long_comment_is_explained(
    app: FastAPI, store: RecordsStore, link: str
) -> None:
    async with admin_http(app) as resident:
        csrf = csrf_in((await resident.get(link)).text)
        none = await resident.post(link, data={"comment": "hi", "csrf_token": csrf})
        long = await resident.post(
            link, data={"rating": "2", "comment": "x" * 1001, "csrf_token": csrf}
        )
    assert none.status_code == 400
    assert "Select how satisfied you are" in text(none.text)
    assert long.status_code == 400
    assert "1000 characters or fewer" in text(long.text)
    assert _count(store) == 0


async def test_two_posts_at_once_record_one_reply(
    app: FastAPI, store: RecordsStore, link: str
) -> None:
    async with admin_http(app) as first, admin_http(app) as second:
        csrf_1 = csrf_in((await first.get(link)).text)
        csrf_2 = csrf_in((await second.get(link)).text)
        answers = await asyncio.gather(
            first.post(link, data={"rating": "5", "csrf_token": csrf_1}),
            second.post(link, data={"rating": "1", "csrf_token": csrf_2}),
        )
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert _count(store) == 1


async def test_the_page_is_rate_limited_per_address(app: FastAPI, link: str) -> None:
    async with admin_http(app) as resident:
        answers = [(await resident.get(link)).status_code for _ in range(LIMIT)]
        assert answers == [200] * LIMIT
        over = await resident.get(link)
    assert over.status_code == 429
    assert "Try again in" in text(over.text)
