"""Evidence in the records (records/evidence.py) on SQLite and PostgreSQL, and the evidence
storage (records/storage.py): content-addressed, never overwritten, checked on the way out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from domain.evidence import check_file
from records.evidence import EvidenceEvent, EvidenceSource, EvidenceStore
from records.storage import EvidenceMissing, LocalStorage, S3Storage, key_of
from records.store import RecordsStore

T0 = datetime(2027, 3, 1, 10, tzinfo=UTC)
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"damp" * 50
MB = 1024 * 1024


def add(evidence: EvidenceStore, reference: str, data: bytes = PHOTO, **kw: Any) -> Any:
    checked = check_file(kw.pop("filename", "damp.jpg"), data, 20 * MB)
    values = {"note": "Back bedroom", "source": EvidenceSource.upload, "by": "jo.officer"}
    return evidence.add(reference, checked, now=kw.pop("now", T0), **(values | kw))


def test_the_same_bytes_on_a_case_are_one_row_and_each_case_has_its_own(
    store: RecordsStore,
) -> None:
    evidence = EvidenceStore(store)
    first, new = add(evidence, "CMP-AAAA-0001")
    assert new and first.filename == "damp.jpg" and first.content_type == "image/jpeg"
    again, new_again = add(evidence, "CMP-AAAA-0001", filename="other name.jpg")
    assert (again.id, new_again, again.filename) == (first.id, False, "damp.jpg")
    other, other_new = add(evidence, "CMP-AAAA-0002")
    assert other_new and other.id != first.id

    found = evidence.for_case("CMP-AAAA-0001")
    assert [f.id for f in found.files] == [first.id]
    assert found.timeline()[0].what == "Evidence added: damp.jpg (JPEG photo, 211 bytes)"


def test_two_adds_of_one_file_at_the_same_moment_make_one_row(store: RecordsStore) -> None:
    evidence = EvidenceStore(store)
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def one() -> None:
        barrier.wait()
        results.append(add(evidence, "CMP-AAAA-0003"))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(new for _, new in results) == [False, True]
    assert len({item.id for item, _ in results}) == 1


def test_a_complaint_shows_its_linked_enquirys_files_and_its_own_events(
    store: RecordsStore,
) -> None:
    evidence = EvidenceStore(store)
    kept, _ = add(evidence, "ENQ-AAAA-0001", source=EvidenceSource.email, by=None, note="Attached")
    own, _ = add(evidence, "CMP-AAAA-0004", data=b"%PDF-1.4 report", filename="report.pdf")
    evidence.log(
        "CMP-AAAA-0004",
        EvidenceEvent.downloaded,
        by="mo.manager",
        now=T0 + timedelta(hours=1),
        file_id=kept.id,
    )
    found = evidence.for_case("CMP-AAAA-0004", ["ENQ-AAAA-0001", "CMP-AAAA-0009"])
    assert [f.id for f in found.files] == [kept.id, own.id]
    lines = [(line.what, line.who) for line in found.timeline()]
    assert lines == [
        (
            "On enquiry ENQ-AAAA-0001: email attachment kept as evidence: damp.jpg "
            "(JPEG photo, 211 bytes)",
            None,
        ),
        ("Evidence added: report.pdf (PDF document, 15 bytes)", "jo.officer"),
        ("Evidence downloaded: damp.jpg", "mo.manager"),
    ]
    # and the enquiry does not show the complaint's
    assert [f.id for f in evidence.for_case("ENQ-AAAA-0001", ["CMP-AAAA-0004"]).files] == [kept.id]


def test_a_keyed_event_is_noted_once(store: RecordsStore) -> None:
    evidence = EvidenceStore(store)
    for _ in range(3):
        evidence.log(
            "ENQ-AAAA-0002",
            EvidenceEvent.refused,
            by=None,
            now=T0,
            detail="“x.exe” is not a type of file we can keep",
            key="email:abc:1",
        )
    evidence.log("ENQ-AAAA-0002", EvidenceEvent.case_file_pdf, by="mo.manager", now=T0)
    evidence.log("ENQ-AAAA-0002", EvidenceEvent.case_file_pdf, by="mo.manager", now=T0)
    events = evidence.for_case("ENQ-AAAA-0002").events
    assert [e.event for e in events] == [
        EvidenceEvent.refused,
        EvidenceEvent.case_file_pdf,
        EvidenceEvent.case_file_pdf,
    ]


# ------------------------------------------------------------------------------- storage


def test_local_storage_is_content_addressed_and_never_overwrites(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "evidence")
    key = storage.put(PHOTO)
    assert key == key_of(PHOTO) and storage.get(key) == PHOTO
    path = storage.path(key)
    assert path == tmp_path / "evidence" / key[:2] / key[2:4] / key
    stat = path.stat()
    assert storage.put(PHOTO) == key  # the same bytes: the same object, not written again
    assert path.stat().st_ino == stat.st_ino and path.stat().st_mtime_ns == stat.st_mtime_ns
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [path]  # no temporary left

    path.chmod(0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(EvidenceMissing, match="damaged"):
        storage.get(key)
    storage.delete(key)
    with pytest.raises(EvidenceMissing):
        storage.get(key)
    with pytest.raises(EvidenceMissing):
        storage.get("../../etc/passwd")


class FakeS3:
    """The four calls S3Storage makes, answering as boto3's client does (ClientError's
    `response`), including If-None-Match's 412."""

    class ClientError(Exception):
        def __init__(self, code: str, status: int) -> None:
            super().__init__(code)
            self.response = {
                "Error": {"Code": code},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], bytes] = {}
        self.puts = 0

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise self.ClientError("404", 404)
        return {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, IfNoneMatch: str, **_: Any) -> None:
        self.puts += 1
        if IfNoneMatch == "*" and (Bucket, Key) in self.objects:
            raise self.ClientError("PreconditionFailed", 412)
        self.objects[(Bucket, Key)] = Body

    def get_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        if (Bucket, Key) not in self.objects:
            raise self.ClientError("NoSuchKey", 404)

        class Body:
            @staticmethod
            def read() -> bytes:
                return self.objects[(Bucket, Key)]

        return {"Body": Body()}

    def delete_object(self, Bucket: str, Key: str) -> None:
        self.objects.pop((Bucket, Key), None)


def test_s3_storage_puts_once_under_the_prefix_and_checks_what_it_reads() -> None:
    client = FakeS3()
    storage = S3Storage(client, "evidence-bucket", "cases/")
    key = storage.put(PHOTO)
    assert client.objects == {("evidence-bucket", f"cases/{key}"): PHOTO}
    assert storage.put(PHOTO) == key and client.puts == 1  # found by head_object
    assert storage.get(key) == PHOTO
    client.objects[("evidence-bucket", f"cases/{key}")] = b"other bytes"
    with pytest.raises(EvidenceMissing, match="damaged"):
        storage.get(key)
    storage.delete(key)
    with pytest.raises(EvidenceMissing):
        storage.get(key)


def test_s3_storage_never_replaces_an_object_that_appeared_meanwhile() -> None:
    client = FakeS3()
    storage = S3Storage(client, "b")
    key = key_of(PHOTO)
    client.head_object = lambda **_: (_ for _ in ()).throw(FakeS3.ClientError("404", 404))  # type: ignore[method-assign]
    client.objects[("b", key)] = PHOTO  # another process put it after our look
    assert storage.put(PHOTO) == key  # the 412 is "already there", not an error
    assert client.objects[("b", key)] == PHOTO
