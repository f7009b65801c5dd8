from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import func, inspect, select, text

from domain.letters import Delivery, LetterContext, LetterKind, LetterRequest, Recipient
from domain.records import CaseSnapshot, RecordRequest, TimelineEntry, record_changes
from records import store as store_module
from records.schema import Base, CaseEvent, CaseSearchWord, Letter, postcode_key
from records.store import LetterNotClaimed, RecordsStore, alembic_config, search_words

REPO_ROOT = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
T0 = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def snapshot(reference: str = "CMP-2025-0001", **changes: Any) -> CaseSnapshot:
    values: dict[str, Any] = {
        "reference": reference,
        "workflow_id": f"complaint-{reference}",
        "stage": "stage1",
        "status": "awaiting_acknowledgement",
        "resident_name": "Amina Okafor",
        "postcode": "TN13 1AX",
        "channel": "online_form",
        "received_at": T0,
        "next_deadline": T0 + timedelta(days=7),
        "next_deadline_label": "Stage 1 acknowledgement",
        "data": {"points": ["Damp in the bedroom"], "due": T0 + timedelta(days=7)},
        "updated_at": T0,
    }
    values.update(changes)
    return CaseSnapshot(**values)


def entry(seq: int, summary: str = "", **changes: Any) -> TimelineEntry:
    values: dict[str, Any] = {
        "seq": seq,
        "at": T0 + timedelta(minutes=seq),
        "step": f"step{seq}",
        "actor": "advisor-1",
        "summary": summary or f"Step {seq}",
        "details": {"n": seq},
    }
    values.update(changes)
    return TimelineEntry(**values)


def letter_request(
    reference: str = "CMP-2025-0001", key: str = "s1_acknowledgement"
) -> LetterRequest:
    return LetterRequest(
        reference=reference,
        key=key,
        kind=LetterKind.stage1_acknowledgement,
        delivery=Delivery.email,
        recipient=Recipient(name="Amina Okafor", email="amina@example.org"),
        context=LetterContext(reference=reference, resident_name="Amina Okafor"),
    )


def count(store: RecordsStore, model: type[Base]) -> int:
    with store.engine.connect() as connection:
        return connection.scalar(select(func.count()).select_from(model)) or 0


# -- migrations ---------------------------------------------------------------------------


def test_migrate_twice_is_fine(make_store: Callable[[], RecordsStore], database_url: str) -> None:
    store = make_store()
    store.migrate()
    store.migrate()
    store_module.migrate(database_url)  # the module-level helper, on the same database

    tables = set(inspect(store.engine).get_table_names())
    assert {"cases", "case_events", "letters", "alembic_version"} <= tables
    with store.engine.connect() as connection:
        assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD


def test_migrations_match_the_models(store: RecordsStore) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_sqlite_file_gets_folder_wal_and_foreign_keys(tmp_path: Path) -> None:
    store = RecordsStore(f"sqlite:///{tmp_path / 'new' / 'folder' / 'records.db'}")
    try:
        store.migrate()
        assert (tmp_path / "new" / "folder" / "records.db").exists()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        store.dispose()


def test_alembic_command_line_works_from_any_directory(tmp_path: Path) -> None:
    database = tmp_path / "cli" / "records.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}"}
    ini = REPO_ROOT / "records" / "alembic.ini"
    subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ini), "upgrade", "head"],
        cwd=tmp_path,
        env=env,
        check=True,
    )
    store = RecordsStore(env["DATABASE_URL"])
    try:
        with store.engine.connect() as connection:
            assert connection.scalar(text("SELECT version_num FROM alembic_version")) == HEAD
    finally:
        store.dispose()


# -- cases and events ---------------------------------------------------------------------


def test_record_then_read_back(store: RecordsStore) -> None:
    case = snapshot(linked_references=["ENQ-2025-0009"], owner_id="officer-7")
    store.record(RecordRequest(snapshot=case, events=[entry(1)]))

    stored = store.get_case(case.reference)
    assert stored is not None
    assert stored.model_dump(exclude={"data"}) == case.model_dump(exclude={"data"})
    # JSON holds plain JSON: datetimes inside `data` come back as ISO strings.
    assert stored.data == {"points": ["Damp in the bedroom"], "due": "2025-03-10T09:30:00Z"}
    assert store.events(case.reference) == [entry(1)]


def test_unknown_case_has_nothing(store: RecordsStore) -> None:
    assert store.get_case("CMP-0000-0000") is None
    assert store.events("CMP-0000-0000") == []
    assert store.letters("CMP-0000-0000") == []
    assert store.get_letter("CMP-0000-0000", "s1_acknowledgement") is None


def test_datetimes_come_back_aware_in_utc(store: RecordsStore) -> None:
    received = datetime(2025, 7, 4, 17, 5, tzinfo=LONDON)  # BST: 16:05 UTC
    naive_deadline = datetime(2025, 7, 11, 16, 0)  # naive is taken as UTC
    case = snapshot(received_at=received, next_deadline=naive_deadline, updated_at=received)
    store.record(RecordRequest(snapshot=case, events=[entry(1, at=received)]))

    stored = store.get_case(case.reference)
    assert stored is not None
    for value in (stored.received_at, stored.next_deadline, stored.updated_at):
        assert value is not None and value.tzinfo is not None
        assert value.utcoffset() == timedelta(0)
    assert stored.received_at == received
    assert stored.received_at.hour == 16
    assert stored.next_deadline == naive_deadline.replace(tzinfo=UTC)
    assert store.events(case.reference)[0].at.utcoffset() == timedelta(0)


def test_record_is_idempotent(store: RecordsStore) -> None:
    request = RecordRequest(snapshot=snapshot(), events=[entry(1), entry(2)])
    store.record(request)
    before = (store.get_case("CMP-2025-0001"), store.events("CMP-2025-0001"))
    with store.engine.connect() as connection:
        ids_before = connection.scalars(select(CaseEvent.id).order_by(CaseEvent.id)).all()

    store.record(request)

    assert (store.get_case("CMP-2025-0001"), store.events("CMP-2025-0001")) == before
    with store.engine.connect() as connection:
        assert connection.scalars(select(CaseEvent.id).order_by(CaseEvent.id)).all() == ids_before


def test_events_are_append_only_and_ordered(store: RecordsStore) -> None:
    store.record(RecordRequest(snapshot=snapshot(), events=[entry(2), entry(1)]))
    later = snapshot(status="acknowledged", updated_at=T0 + timedelta(hours=1))
    store.record(RecordRequest(snapshot=later, events=[entry(1, "Rewritten history"), entry(3)]))

    events = store.events("CMP-2025-0001")
    assert [e.seq for e in events] == [1, 2, 3]
    assert events[0].summary == "Step 1"  # the first write of seq 1 stands
    assert count(store, CaseEvent) == 3


def test_an_older_snapshot_never_overwrites_a_newer_one(store: RecordsStore) -> None:
    newer = snapshot(status="acknowledged", updated_at=T0 + timedelta(hours=2))
    older = snapshot(status="awaiting_acknowledgement", updated_at=T0 + timedelta(hours=1))
    store.record(RecordRequest(snapshot=newer, events=[entry(2)]))
    store.record(RecordRequest(snapshot=older, events=[entry(1)]))  # a late retry

    stored = store.get_case("CMP-2025-0001")
    assert stored is not None
    assert stored.status == "acknowledged"
    assert stored.updated_at == newer.updated_at
    # ...but the late retry's entries still land in the log.
    assert [e.seq for e in store.events("CMP-2025-0001")] == [1, 2]


def test_a_newer_snapshot_replaces_the_case(store: RecordsStore) -> None:
    store.record(RecordRequest(snapshot=snapshot(owner_id="officer-1")))
    closed = snapshot(
        status="closed",
        owner_id=None,
        overdue=True,
        closure_reason="resolved",
        closed_at=T0 + timedelta(days=9),
        updated_at=T0 + timedelta(days=9),
    )
    store.record(RecordRequest(snapshot=closed))
    assert store.get_case("CMP-2025-0001") == closed.model_copy(
        update={"data": {"points": ["Damp in the bedroom"], "due": "2025-03-10T09:30:00Z"}}
    )


def test_concurrent_first_records_make_one_case(
    store: RecordsStore, make_store: Callable[[], RecordsStore]
) -> None:
    other = make_store()
    request = RecordRequest(snapshot=snapshot(), events=[entry(1), entry(2)])
    errors = run_together([store, other] * 3, lambda s: s.record(request))

    assert errors == []
    assert store.get_case("CMP-2025-0001") is not None
    assert [e.seq for e in store.events("CMP-2025-0001")] == [1, 2]


# -- search -------------------------------------------------------------------------------


@pytest.fixture
def three_cases(store: RecordsStore) -> RecordsStore:
    cases = [
        snapshot("CMP-2025-0001", resident_name="Amina Okafor", postcode="TN13 1AX"),
        snapshot(
            "CMP-2025-0002",
            resident_name="Tom O'Brien",
            postcode="me14 2ll",
            received_at=T0 + timedelta(days=1),
        ),
        snapshot(
            "ENQ-2025-0003",
            kind="enquiry",
            resident_name="Grace 100% Okoro",
            postcode=None,
            received_at=T0 + timedelta(days=2),
        ),
    ]
    for case in cases:
        store.record(RecordRequest(snapshot=case))
    return store


def refs(found: list[CaseSnapshot]) -> list[str]:
    return [case.reference for case in found]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("CMP-2025", ["CMP-2025-0002", "CMP-2025-0001"]),  # newest first
        ("cmp-2025-0001", ["CMP-2025-0001"]),
        ("2025-0001", []),  # references match by prefix only
        ("okafor", ["CMP-2025-0001"]),
        ("OKO", ["ENQ-2025-0003"]),
        ("o'brien", ["CMP-2025-0002"]),
        ("tn131ax", ["CMP-2025-0001"]),
        ("ME14 2LL", ["CMP-2025-0002"]),
        (" me 14 ", ["CMP-2025-0002"]),
        ("100%", ["ENQ-2025-0003"]),  # wildcards are literal
        ("%", []),  # names match word by word: punctuation alone is no word
        ("grace oko", ["ENQ-2025-0003"]),  # each word starts one of the name's
        ("okoro grace", ["ENQ-2025-0003"]),  # in any order
        ("race", []),  # the start of a word, not any part of it
        ("_", []),
        ("nobody", []),
    ],
)
def test_search(three_cases: RecordsStore, text: str, expected: list[str]) -> None:
    assert refs(three_cases.search_cases(text)) == expected


def test_search_with_blank_text_lists_newest_first_up_to_limit(three_cases: RecordsStore) -> None:
    assert refs(three_cases.search_cases("  ", limit=2)) == ["ENQ-2025-0003", "CMP-2025-0002"]
    assert refs(three_cases.search_cases("o", limit=1)) == ["ENQ-2025-0003"]


# Names sharing words, words that start others ("okoro", "okoroafor"), names with several words
# starting alike ("Ann Annabel Annis"), and texts that match references, postcodes and names.
CROWD_NAMES = [
    "Ann Example",
    "Anna Okoro",
    "Ann Annabel Annis",
    "Tom Okoroafor",
    "Okoro Okoro-Smith",
    "Grace Okafor",
    "Jo Anne",
    "Ann O'Brien",
    "Okon Smith",
    "Mo Ann-Marie",
]


@pytest.fixture
def crowd(store: RecordsStore) -> list[CaseSnapshot]:
    """24 cases, three received at each moment (the newest first, then by reference,
    descending)."""
    cases = []
    for n in range(24):
        enquiry = n % 3 == 0
        case = snapshot(
            f"{'ENQ' if enquiry else 'CMP'}-2026-{n:04d}",
            kind="enquiry" if enquiry else "complaint",
            resident_name=CROWD_NAMES[n % len(CROWD_NAMES)],
            postcode=f"ZX{n % 4} {n % 3}AB",
            received_at=T0 + timedelta(hours=n // 3),
        )
        store.record(RecordRequest(snapshot=case))
        cases.append(case)
    return cases


def newest_matches(cases: list[CaseSnapshot], text: str, limit: int) -> list[str]:
    """What search_cases answers, worked out case by case from what each test means."""
    text = text.strip()
    key, typed = postcode_key(text), search_words(text)

    def matches(case: CaseSnapshot) -> bool:
        names = search_words(case.resident_name)
        return (
            not text
            or case.reference.startswith(text.upper())
            or bool(key and (postcode_key(case.postcode) or "").startswith(key))
            or bool(typed and all(any(n.startswith(w) for n in names) for w in typed))
        )

    found = sorted(filter(matches, cases), key=lambda c: (c.received_at, c.reference))
    return [case.reference for case in reversed(found)][:limit]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ann",  # a whole word, and the start of longer ones, several in one name
        "an",
        "okoro",  # the whole word in some names, the start of a longer one in others
        "oko",
        "ann ann",
        "anna okoro",
        "okoro ann",
        "smith okoro",
        "ok",
        "CMP-2026-001",
        "enq",  # the start of references, and of no name
        "ZX1",  # postcodes
        "zx1 2",
        "2AB",  # postcodes start with what is typed
        "zz",
    ],
)
def test_search_pages_are_the_newest_of_every_match(
    store: RecordsStore, crowd: list[CaseSnapshot], text: str
) -> None:
    """Each test reads only its own newest cases (a page of each), so the page must still be
    the newest of every case any test finds, each case once."""
    for limit in (1, 2, 5, 50):
        assert refs(store.search_cases(text, limit=limit)) == newest_matches(crowd, text, limit)


def words_received(store: RecordsStore, reference: str) -> set[datetime]:
    with store.engine.connect() as connection:
        return set(
            connection.scalars(
                select(CaseSearchWord.received_at).where(CaseSearchWord.reference == reference)
            )
        )


def test_search_words_move_with_their_case_received_at(store: RecordsStore) -> None:
    """The words carry their case's received_at, which search reads them in the order of: a
    later snapshot that moves it moves them, sent whole or as changes."""
    first = snapshot("CMP-2025-0001", resident_name="Ann Example", revision=1)
    store.record(RecordRequest(snapshot=first))
    other = snapshot("CMP-2025-0002", resident_name="Ann Other", received_at=T0 + timedelta(1))
    store.record(RecordRequest(snapshot=other))
    assert refs(store.search_cases("ann")) == ["CMP-2025-0002", "CMP-2025-0001"]

    later = first.model_copy(
        update={
            "received_at": T0 + timedelta(days=2),
            "updated_at": T0 + timedelta(1),
            "revision": 2,
        }
    )
    store.record(RecordRequest(snapshot=later))
    assert words_received(store, "CMP-2025-0001") == {T0 + timedelta(days=2)}
    assert refs(store.search_cases("ann")) == ["CMP-2025-0001", "CMP-2025-0002"]

    back = later.model_copy(
        update={"received_at": T0, "resident_name": "Ann Examples", "revision": 3}
    )
    store.record(
        RecordRequest(
            reference=back.reference,
            revision=3,
            changes=record_changes(later.model_dump(mode="json"), back.model_dump(mode="json")),
        )
    )
    assert words_received(store, "CMP-2025-0001") == {T0}
    assert refs(store.search_cases("ann")) == ["CMP-2025-0002", "CMP-2025-0001"]
    assert refs(store.search_cases("examples")) == ["CMP-2025-0001"]


def word_collation(store: RecordsStore) -> str | None:
    with store.engine.connect() as connection:
        return connection.scalar(
            text(
                "SELECT collation_name FROM information_schema.columns WHERE table_schema ="
                " current_schema() AND table_name = 'case_search_words' AND column_name = 'word'"
            )
        )


def test_migration_0022_gives_recorded_words_their_case_received_at(
    store: RecordsStore, crowd: list[CaseSnapshot]
) -> None:
    """Words recorded before 0022 get their case's received_at, and search pages stay the
    newest; down to 0021 and up again on a database full of them."""
    with store.writer.begin() as connection:
        command.downgrade(alembic_config(connection), "0021")
    columns = {c["name"] for c in inspect(store.engine).get_columns("case_search_words")}
    assert "received_at" not in columns
    postgresql = store.engine.dialect.name == "postgresql"
    if postgresql:
        assert word_collation(store) != "C"
    words = count(store, CaseSearchWord)

    with store.writer.begin() as connection:
        command.upgrade(alembic_config(connection), "head")
    assert count(store, CaseSearchWord) == words
    for case in crowd:
        assert words_received(store, case.reference) == {case.received_at}
    indexes = {i["name"] for i in inspect(store.engine).get_indexes("case_search_words")}
    assert "ix_case_search_words_recent" in indexes
    assert "ix_case_search_words_word" not in indexes
    if postgresql:
        assert word_collation(store) == "C"  # as records/schema.py declares it
    for text_ in ("ann", "okoro ann", "oko"):
        assert refs(store.search_cases(text_, limit=5)) == newest_matches(crowd, text_, 5)


# -- letters ledger -----------------------------------------------------------------------


def test_claim_letter_twice_returns_the_same_row(store: RecordsStore) -> None:
    first = store.claim_letter(letter_request(), "amina@example.org", "We have your complaint")
    second = store.claim_letter(letter_request(), "amina@example.org", "We have your complaint")

    assert first.attempts == 1
    assert second.attempts == 2
    assert second.id == first.id
    assert second.status == "claimed" and not second.sent
    assert second.kind is LetterKind.stage1_acknowledgement
    assert second.delivery is Delivery.email
    assert second.recipient_role == "resident"
    assert second.claimed_at == first.claimed_at
    assert second.claimed_at.utcoffset() == timedelta(0)
    assert second.body_html is None and second.sent_at is None
    assert store.get_letter("CMP-2025-0001", "s1_acknowledgement") == second
    assert count(store, Letter) == 1


def test_mark_letter_sent(store: RecordsStore) -> None:
    store.claim_letter(letter_request(), "amina@example.org", "We have your complaint")
    sent_at = datetime(2025, 3, 4, 10, 0, tzinfo=LONDON)
    store.mark_letter_sent(
        "CMP-2025-0001",
        "s1_acknowledgement",
        body_html="<p>Dear Amina</p>",
        provider_id="sg-123",
        location=None,
        sent_at=sent_at,
    )

    row = store.get_letter("CMP-2025-0001", "s1_acknowledgement")
    assert row is not None and row.sent
    assert row.body_html == "<p>Dear Amina</p>"
    assert row.provider_id == "sg-123"
    assert row.sent_at == sent_at and row.sent_at.utcoffset() == timedelta(0)

    # A retried activity claims again, sees the letter went, and marks nothing new.
    again = store.claim_letter(letter_request(), "changed@example.org", "Changed subject")
    assert again.sent and again.attempts == 2
    assert again.recipient == "amina@example.org" and again.subject == "We have your complaint"
    store.mark_letter_sent(
        "CMP-2025-0001",
        "s1_acknowledgement",
        body_html="<p>Second</p>",
        provider_id="sg-456",
        location=None,
        sent_at=sent_at + timedelta(hours=1),
    )
    assert store.get_letter("CMP-2025-0001", "s1_acknowledgement") == again


def test_an_unsent_claim_takes_the_latest_recipient(store: RecordsStore) -> None:
    store.claim_letter(letter_request(), "old@example.org", "Subject one")
    row = store.claim_letter(letter_request(), "new@example.org", "Subject two")
    assert (row.recipient, row.subject) == ("new@example.org", "Subject two")


def test_marking_an_unclaimed_letter_sent_is_an_error(store: RecordsStore) -> None:
    with pytest.raises(LetterNotClaimed, match="claim it before sending"):
        store.mark_letter_sent(
            "CMP-2025-0001",
            "s1_acknowledgement",
            body_html="<p>x</p>",
            provider_id=None,
            location="var/outbox/x.html",
            sent_at=T0,
        )


def test_letters_lists_a_cases_letters(store: RecordsStore) -> None:
    store.claim_letter(letter_request(key="s1_acknowledgement"), "a@example.org", "One")
    store.claim_letter(letter_request(key="breach:s1_contact"), "a@example.org", "Two")
    store.claim_letter(letter_request("CMP-2025-0002"), "b@example.org", "Other case")

    keys = [row.letter_key for row in store.letters("CMP-2025-0001")]
    assert keys == ["s1_acknowledgement", "breach:s1_contact"]


def test_concurrent_duplicate_claims_make_one_row(
    store: RecordsStore, make_store: Callable[[], RecordsStore]
) -> None:
    other = make_store()
    stores = [store, other] * 4
    rows: list[Any] = []

    def claim(s: RecordsStore) -> None:
        rows.append(s.claim_letter(letter_request(), "amina@example.org", "Subject"))

    assert run_together(stores, claim) == []
    assert count(store, Letter) == 1
    assert len({row.id for row in rows}) == 1
    assert sorted(row.attempts for row in rows) == list(range(1, len(stores) + 1))
    final = store.get_letter("CMP-2025-0001", "s1_acknowledgement")
    assert final is not None and final.attempts == len(stores)


def run_together(
    stores: list[RecordsStore], work: Callable[[RecordsStore], None]
) -> list[BaseException]:
    """Run `work` once per store, each in its own thread, all released at the same moment."""
    barrier = threading.Barrier(len(stores))
    errors: list[BaseException] = []

    def run(s: RecordsStore) -> None:
        barrier.wait()
        try:
            work(s)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_a_commit_leaves_the_tables_made_from_what_it_did_not_change() -> None:
    """Each table of a case's child rows is synced only when a change reaches what its rows are
    made from: most commits touch neither the name (search words) nor the clocks."""
    every = {t.field for t in store_module.CASE_ROWS}

    def left(*paths: list[str | int]) -> set[str]:
        changes = [[path, "x"] for path in paths]
        return set(store_module.unchanged_rows(RecordRequest(reference="CMP-1", revision=2,
                                                             changes=changes)))  # fmt: skip

    assert left(["status"], ["data", "status"], ["updated_at"]) == every
    assert left(["data", "clocks", 0, "met_at"]) == every - {"clocks"}
    assert left(["data"]) == every - {"clocks"}  # the data sent whole holds the clocks
    assert left(["resident_name"]) == every - {"search_words"}
    assert left(["received_at"]) == every - {"search_words"}
    assert left(["actions"], ["point_outcomes"]) == every - {"actions", "point_outcomes"}
    assert store_module.unchanged_rows(RecordRequest(snapshot=snapshot())) == frozenset()
