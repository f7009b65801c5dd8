"""Payload encryption: the codec on its own (round trip, rotation, tampering, old plain payloads),
a case on the time-skipping server whose raw history holds neither the resident's name nor the
complaint text in clear (while the search attributes stay plain), and the admin app's codec
endpoint for the Temporal Web UI (signed-in staff, from the Web UI's origin only)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker.client as worker_client
from admin.accounts import AccountStore, NewAccount, Role
from admin.app import create_app
from config import Settings
from domain.complaint import workflow_id
from records.store import RecordsStore
from tests.admin.conftest import ADMIN_SECRET, STAFF_PASSWORD, admin_http, admin_sign_in
from tests.conftest import TEST_SERVER
from tests.support import JO, complaint, london, start, step
from worker.__main__ import build_worker
from worker.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadKeyError,
    data_converter,
    new_key_line,
    parse_keys,
)
from worker.setup import register_search_attributes
from workflows import search_attributes as sa

KEY_A = new_key_line("a")
KEY_B = new_key_line("b")
UI = "http://127.0.0.1:8233"
NAME = "Ann Example"
# a phrase only the complaint's own text holds (not any letter template)
PHRASE = "the gas fitter left a smouldering flue"


def plain(data: str) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data.encode())


# --------------------------------------------------------------------------- the codec itself


async def test_round_trip_hides_the_payload_and_names_the_key() -> None:
    codec = EncryptionCodec.from_spec(KEY_A)
    original = [plain(json.dumps({"name": NAME})), plain('"x"')]
    sealed = await codec.encode(original)
    assert all(p.metadata["encoding"] == ENCODING for p in sealed)
    assert all(p.metadata[KEY_ID] == b"a" for p in sealed)
    assert not any(NAME.encode() in p.SerializeToString() for p in sealed)
    assert sealed[0].data[:12] != (await codec.encode(original))[0].data[:12]  # fresh nonce
    assert await codec.decode(sealed) == original


async def test_rotation_new_key_encrypts_old_keys_still_decrypt() -> None:
    old = EncryptionCodec.from_spec(KEY_A)
    sealed_with_a = await old.encode([plain('"before rotation"')])
    rotated = EncryptionCodec.from_spec(f"{KEY_A},{KEY_B}")
    sealed_with_b = await rotated.encode([plain('"after rotation"')])
    assert sealed_with_b[0].metadata[KEY_ID] == b"b"
    assert await rotated.decode(sealed_with_a + sealed_with_b) == [
        plain('"before rotation"'),
        plain('"after rotation"'),
    ]
    # a process that never got key b cannot read what b sealed, and says which key it lacks
    with pytest.raises(PayloadKeyError, match="'b'") as err:
        await old.decode(sealed_with_b)
    assert "after rotation" not in str(err.value)


async def test_tampered_payload_fails() -> None:
    codec = EncryptionCodec.from_spec(KEY_A)
    [sealed] = await codec.encode([plain('"pay £100"')])
    flipped = bytearray(sealed.data)
    flipped[-1] ^= 1
    with pytest.raises(PayloadKeyError, match="failed authentication"):
        await codec.decode([Payload(metadata=sealed.metadata, data=bytes(flipped))])
    # the key id is bound to the ciphertext: relabelling it is caught too
    same_key_other_id = "c:" + KEY_A.split(":", 1)[1]
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"c"}, data=sealed.data)
    with pytest.raises(PayloadKeyError, match="failed authentication"):
        await EncryptionCodec.from_spec(f"{KEY_A},{same_key_other_id}").decode([relabelled])


async def test_plain_payloads_from_before_encryption_pass_through() -> None:
    codec = EncryptionCodec.from_spec(KEY_A)
    old = [plain('"written before PAYLOAD_KEYS"'), Payload(metadata={}, data=b"")]
    assert await codec.decode(old) == old


PROBLEMS = ("no keys", "keyid:base64key", "not valid base64", "must be 32", "twice", "key id")


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "no keys"),
        ("nokey", "keyid:base64key"),
        ("a:not base64!", "not valid base64"),
        ("a:" + base64.b64encode(b"short").decode(), "must be 32"),
        (f"{KEY_A},{KEY_A}", "twice"),
        ("bad id:" + KEY_A.split(":", 1)[1], "key id"),
    ],
    ids=lambda value: value if value in PROBLEMS else "",  # no random key in a test's id
)
def test_bad_payload_keys_are_named_without_the_key(spec: str, problem: str) -> None:
    with pytest.raises(PayloadKeyError, match=problem) as err:
        parse_keys(spec)
    assert KEY_A.split(":", 1)[1] not in str(err.value)


def test_the_key_generator_prints_a_usable_line(capsys: pytest.CaptureFixture[str]) -> None:
    from worker.codec import main

    assert main(["new-key", "k2027"]) == 0
    line = capsys.readouterr().out.strip()
    [(key_id, key)] = parse_keys(line)
    assert key_id == "k2027" and len(key) == 32


def test_converter_is_plain_without_keys_and_settings_do_not_show_keys() -> None:
    assert data_converter(Settings()) is pydantic_data_converter
    encrypting = data_converter(Settings(payload_keys=KEY_A))
    assert isinstance(encrypting.payload_codec, EncryptionCodec)
    assert encrypting.payload_converter_class is pydantic_data_converter.payload_converter_class
    assert Settings.from_env({"PAYLOAD_KEYS": KEY_A}).payload_keys == KEY_A
    assert KEY_A not in repr(Settings(payload_keys=KEY_A))


@pytest.fixture
def dev_keys_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "var" / "payload-keys"
    monkeypatch.setattr(worker_client, "DEV_PAYLOAD_KEYS_FILE", path)
    yield path


def test_development_makes_one_key_once_and_production_makes_none(dev_keys_file: Path) -> None:
    first = worker_client.with_payload_keys(Settings())
    again = worker_client.with_payload_keys(Settings())
    assert first.payload_keys and first.payload_keys == again.payload_keys
    assert dev_keys_file.stat().st_mode & 0o777 == 0o600
    parse_keys(first.payload_keys)
    assert worker_client.with_payload_keys(Settings(payload_keys=KEY_B)).payload_keys == KEY_B
    dev_keys_file.unlink()
    production = worker_client.with_payload_keys(Settings(app_env="production"))
    assert production.payload_keys is None and not dev_keys_file.exists()


async def test_production_refuses_to_connect_without_keys() -> None:
    with pytest.raises(worker_client.PayloadKeysMissing, match="PAYLOAD_KEYS"):
        await worker_client.connect(Settings(app_env="production"))


# --------------------------------------------------------------------------- the history


@pytest.fixture
async def encrypted_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER),
        data_converter=data_converter(Settings(payload_keys=f"{KEY_A},{KEY_B}")),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere in a protobuf message (events, maps, repeated fields)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if isinstance(value, Message):
            items = [value]
        elif field.message_type.GetOptions().map_entry:
            items = value.values()
        else:
            items = value
        for item in items:
            if isinstance(item, Message):
                yield from payloads_in(item)


async def test_raw_history_holds_no_name_or_complaint_text_in_clear(
    encrypted_env: WorkflowEnvironment, settings: Settings, store: RecordsStore
) -> None:
    env = encrypted_env
    case = complaint(
        london(2027, 3, 1, 10),
        description=f"On my last visit {PHRASE} and nobody came back.",
        points=[f"Safety: {PHRASE}"],
    )
    with ThreadPoolExecutor(max_workers=8) as executor:
        async with build_worker(env.client, settings, store, executor):
            await start(env.client, case, settings.task_queue)
            after = await step(env.client, case.reference, "accept", by=JO.id)
            assert after.stage == "stage1"

    # a client without the codec sees what the Temporal server (and its database) holds
    raw = Client(
        env.client.service_client,
        namespace=env.client.namespace,
        data_converter=pydantic_data_converter,
    )
    handle = raw.get_workflow_handle(workflow_id(case.reference))
    history = await handle.fetch_history()
    secrets = [NAME, PHRASE, "ann@example.org", "1 High Street"]
    text = history.to_json()
    found = [p for event in history.events for p in payloads_in(event)]
    raw_bytes = b"".join(p.SerializeToString() for p in found)
    for secret in secrets:
        assert secret not in text
        assert secret.encode() not in raw_bytes
        assert base64.b64encode(secret.encode()).decode()[:12] not in text
    sealed = [p for p in found if p.metadata.get("encoding") == ENCODING]
    assert sealed and {p.metadata[KEY_ID] for p in sealed} == {b"b"}  # the newest key

    # ...and the same payloads, opened with the keys, do hold them (so the check above is real)
    opened = b"".join(p.data for p in await EncryptionCodec.from_spec(KEY_B).decode(sealed))
    assert NAME.encode() in opened and PHRASE.encode() in opened

    # search attributes stay plain, readable without keys, and free of personal data
    desc = await handle.describe()
    assert desc.typed_search_attributes.get(sa.CASE_STAGE) == "stage1"
    assert desc.typed_search_attributes.get(sa.CASE_TYPE) == "complaint"
    plain_attributes = [
        p
        for event in history.events
        for p in payloads_in(event)
        if p.metadata.get("encoding") != ENCODING
    ]
    assert any(p.data == b'"triage"' for p in plain_attributes)
    for p in plain_attributes:
        assert not any(s.encode() in p.data for s in secrets)


# --------------------------------------------------------------------------- the codec endpoint


@pytest.fixture
def codec_app(settings: Settings, store: RecordsStore):
    AccountStore(store).create(
        NewAccount(
            id="jo.officer",
            name="Jo Officer",
            email="jo.officer@wkha.example",
            role=Role.case_officer,
            password=STAFF_PASSWORD,
        )
    )
    app_settings = settings.model_copy(
        update={
            "admin_secret_key": ADMIN_SECRET,
            "payload_keys": f"{KEY_A},{KEY_B}",
            "temporal_ui_url": UI,
        }
    )
    return create_app(app_settings, store)


def as_json(payloads: list[Payload]) -> dict:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def from_json(body: dict) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p.get("metadata", {}).items()},
            data=base64.b64decode(p.get("data", "")),
        )
        for p in body["payloads"]
    ]


async def test_codec_endpoint_decodes_only_for_signed_in_staff_from_the_web_ui(codec_app) -> None:
    originals = [plain(json.dumps({"resident": NAME})), plain(f'"{PHRASE}"')]
    sealed = await EncryptionCodec.from_spec(KEY_A).encode(originals[:1])
    sealed += await EncryptionCodec.from_spec(KEY_B).encode(originals[1:])
    body = as_json(sealed)
    ui = {"Origin": UI, "X-Namespace": "default"}
    async with admin_http(codec_app) as anonymous:
        refused = await anonymous.post("/codec/decode", json=body, headers=ui)
        assert refused.status_code == 401
        assert NAME not in refused.text
        assert refused.headers["access-control-allow-origin"] == UI  # the UI can show why

    async with admin_http(codec_app) as staff:
        await admin_sign_in(staff, "jo.officer")
        for origin in ("http://evil.example", "http://127.0.0.1:8000", None):
            headers = {"Origin": origin} if origin else {}
            wrong = await staff.post("/codec/decode", json=body, headers=headers)
            assert wrong.status_code == 403, origin
            assert "access-control-allow-origin" not in wrong.headers
            assert NAME not in wrong.text

        decoded = await staff.post("/codec/decode", json=body, headers=ui)
        assert decoded.status_code == 200, decoded.text
        assert decoded.headers["access-control-allow-origin"] == UI
        assert decoded.headers["access-control-allow-credentials"] == "true"
        assert from_json(decoded.json()) == originals

        # encode seals with the newest key; decode opens it again
        encoded = await staff.post("/codec/encode", json=as_json(originals), headers=ui)
        assert encoded.status_code == 200, encoded.text
        resealed = from_json(encoded.json())
        assert {p.metadata[KEY_ID] for p in resealed} == {b"b"}
        assert NAME not in encoded.text
        again = await staff.post("/codec/decode", json=encoded.json(), headers=ui)
        assert from_json(again.json()) == originals

        # not a token-free back door to the rest of the app: other POSTs still need CSRF
        assert (await staff.post("/api/complaints", json={}, headers=ui)).status_code == 403
        bad = await staff.post("/codec/decode", content=b"not json", headers=ui)
        assert bad.status_code == 400


async def test_codec_preflight_answers_the_web_ui_origin_only(codec_app) -> None:
    async with admin_http(codec_app) as http:
        request = {
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace",
        }
        for path in ("/codec/decode", "/codec/encode"):
            ok = await http.options(path, headers={"Origin": UI, **request})
            assert ok.status_code == 204
            assert ok.headers["access-control-allow-origin"] == UI
            assert ok.headers["access-control-allow-credentials"] == "true"
            assert "POST" in ok.headers["access-control-allow-methods"]
            allowed = ok.headers["access-control-allow-headers"].lower()
            assert "content-type" in allowed and "x-namespace" in allowed
        other = await http.options(
            "/codec/decode", headers={"Origin": "http://evil.example", **request}
        )
        assert other.status_code == 403
        assert "access-control-allow-origin" not in other.headers
