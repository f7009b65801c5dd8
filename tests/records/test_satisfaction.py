"""Satisfaction survey replies in their migrated table: kept once per case and per link, the
unique constraints deciding between two writers. SQLite always, PostgreSQL when TEST_DATABASE_URL
is set."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from sqlalchemy import func, inspect, select

from domain.records import RecordRequest
from domain.satisfaction import Rating
from records.satisfaction import Recorded, Reply, SatisfactionReplies
from records.schema import SatisfactionReply
from records.store import RecordsStore
from tests.records.test_store import T0, snapshot

REF = "CMP-2025-0001"
NONCE = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def _with_case(store: RecordsStore) -> SatisfactionReplies:
    store.record(RecordRequest(snapshot=snapshot(updated_at=T0)))
    return SatisfactionReplies(store)


def test_the_migration_adds_the_table(store: RecordsStore) -> None:
    schema = inspect(store.engine)
    columns = {c["name"]: c for c in schema.get_columns("satisfaction_replies")}
    assert list(columns) == ["id", "reference", "nonce", "rating", "comment", "answered_at"]
    assert columns["comment"]["nullable"]
    unique = {
        tuple(u["column_names"]) for u in schema.get_unique_constraints("satisfaction_replies")
    }
    assert {("reference",), ("nonce",)} <= unique


def test_a_reply_is_kept_once(store: RecordsStore) -> None:
    replies = _with_case(store)
    assert not replies.answered(REF, NONCE)
    reply = Reply(rating=Rating.fairly_satisfied, comment="  Quick and polite.  ")
    assert replies.record(REF, NONCE, reply, NOW) is Recorded.recorded
    assert replies.answered(REF, NONCE)
    again = Reply(rating=Rating.very_dissatisfied)
    assert replies.record(REF, NONCE, again, NOW) is Recorded.already_answered
    # another link for the same case is refused too: one reply a case
    assert replies.record(REF, "f" * 32, again, NOW) is Recorded.already_answered
    stored = replies.for_case(REF)
    assert stored is not None
    assert (stored.rating, stored.comment, stored.answered_at) == (
        Rating.fairly_satisfied,
        "Quick and polite.",
        NOW,
    )


def test_no_reply_for_a_case_not_recorded(store: RecordsStore) -> None:
    replies = SatisfactionReplies(store)
    assert replies.record(REF, NONCE, Reply(rating=Rating.neither), NOW) is Recorded.no_such_case


def test_a_comment_over_the_limit_is_refused() -> None:
    with pytest.raises(ValidationError):
        Reply(rating=Rating.neither, comment="x" * 1001)


def test_two_writers_at_once_keep_one_reply(
    store: RecordsStore, make_store: Callable[[], RecordsStore]
) -> None:
    _with_case(store)
    writers = [SatisfactionReplies(make_store()) for _ in range(4)]
    reply = Reply(rating=Rating.very_satisfied)
    with ThreadPoolExecutor(len(writers)) as pool:
        results = list(pool.map(lambda w: w.record(REF, NONCE, reply, NOW), writers))
    assert sorted(results) == sorted(
        [Recorded.recorded] + [Recorded.already_answered] * (len(writers) - 1)
    )
    with store.reading() as session:
        assert session.scalar(select(func.count()).select_from(SatisfactionReply)) == 1
