"""Payload encryption: every payload the worker, the starter and the admin app send to Temporal
(a complaint, a step, a status, a letter's data) is sealed with AES-GCM before it leaves the
process, so the server's histories hold no personal data in clear. Search attributes are not
payloads of this kind: they stay plain and hold no personal data (workflows/search_attributes.py).

Keys come from PAYLOAD_KEYS: comma-separated `keyid:base64key` (32-byte keys). The LAST key is the
newest and seals every new payload; every listed key still opens payloads sealed with it (the key
id travels in the payload's metadata). To rotate, append a new key and keep the old ones until no
running case needs them. `python -m worker.codec new-key` prints a new line to append.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
import secrets
import sys
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from config import Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
KEY_BYTES = 32
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class PayloadKeyError(ValueError):
    """PAYLOAD_KEYS is malformed, or a payload names a key we do not hold. Never carries key
    material or payload data."""


def parse_keys(spec: str) -> list[tuple[str, bytes]]:
    """`keyid:base64key,...` → [(key id, key)], oldest first."""
    keys: list[tuple[str, bytes]] = []
    for n, item in enumerate((p.strip() for p in spec.split(",")), start=1):
        if not item:
            continue
        key_id, sep, encoded = item.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id:
            raise PayloadKeyError(f"PAYLOAD_KEYS entry {n} is not `keyid:base64key`")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise PayloadKeyError(f"PAYLOAD_KEYS entry {n}: a key id is letters, digits, . _ -")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise PayloadKeyError(f"PAYLOAD_KEYS key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise PayloadKeyError(
                f"PAYLOAD_KEYS key {key_id!r} is {len(key)} bytes; it must be {KEY_BYTES}"
            )
        if any(existing == key_id for existing, _ in keys):
            raise PayloadKeyError(f"PAYLOAD_KEYS lists key id {key_id!r} twice")
        keys.append((key_id, key))
    if not keys:
        raise PayloadKeyError("PAYLOAD_KEYS holds no keys")
    return keys


def new_key_line(key_id: str | None = None) -> str:
    """A fresh `keyid:base64key` entry for PAYLOAD_KEYS."""
    key_id = key_id or f"k{secrets.token_hex(4)}"
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise PayloadKeyError("a key id is 1-64 letters, digits, . _ -")
    return f"{key_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-GCM with a random 12-byte nonce per payload; the key id is both in the metadata and
    bound to the ciphertext as associated data."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]) -> None:
        if not keys:
            raise PayloadKeyError("EncryptionCodec needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}
        self.key_id = keys[-1][0]

    @classmethod
    def from_spec(cls, spec: str) -> EncryptionCodec:
        return cls(parse_keys(spec))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.key_id].encrypt(
            nonce, payload.SerializeToString(), self.key_id.encode()
        )
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written before encryption was switched on: pass through
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload was encrypted with key id {key_id!r}, which is not in PAYLOAD_KEYS"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except InvalidTag:
            raise PayloadKeyError(
                f"payload encrypted with key id {key_id!r} failed authentication "
                "(tampered with, or the key under that id has changed)"
            ) from None
        return Payload.FromString(plain)


def codec_from_settings(settings: Settings) -> EncryptionCodec | None:
    return EncryptionCodec.from_spec(settings.payload_keys) if settings.payload_keys else None


def data_converter(settings: Settings) -> DataConverter:
    """pydantic's converter, encrypting payloads (and failure messages) when PAYLOAD_KEYS is
    set."""
    codec = codec_from_settings(settings)
    if codec is None:
        return pydantic_data_converter
    # failures too: a refused step's message or an activity's stack trace may quote the case
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def main(argv: list[str]) -> int:
    if len(argv) in (1, 2) and argv[0] == "new-key":
        print(new_key_line(argv[1] if len(argv) == 2 else None))
        return 0
    print(
        "usage: python -m worker.codec new-key [KEYID]\n"
        "  prints a `keyid:base64key` entry: append it (last) to PAYLOAD_KEYS",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
