"""How a case's resident link has been used, as staff see it: counted by the database, a row a
kind of event, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from domain.records import RecordRequest
from records.case_links import CaseLinks, LinkEvent
from records.store import RecordsStore
from tests.records.test_store import snapshot

T0 = datetime(2027, 3, 1, 9, tzinfo=UTC)


def test_use_counts_each_kind_and_the_last_use_but_not_revocations(store: RecordsStore) -> None:
    ref = "CMP-2025-0001"
    store.record(RecordRequest(snapshot=snapshot(ref)))
    links = CaseLinks(store)
    assert links.use(ref).counts == {}
    assert links.use(ref).last_used_at is None
    for hours, event in [(1, LinkEvent.viewed), (2, LinkEvent.viewed), (3, LinkEvent.replied)]:
        links.log(ref, event, 0, T0 + timedelta(hours=hours))
    links.revoke(ref, "jo.officer", T0 + timedelta(hours=5))  # later than any use
    links.log(ref, LinkEvent.viewed, 1, T0 + timedelta(hours=4))
    use = links.use(ref)
    assert use.counts == {LinkEvent.viewed: 3, LinkEvent.replied: 1}
    assert use.last_used_at == T0 + timedelta(hours=4)
    assert use.generation == 1
    assert use.revoked_at == T0 + timedelta(hours=5)
    assert links.use("CMP-2025-0099") == links.use("CMP-2025-0098")  # none recorded
