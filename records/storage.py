"""Where evidence files' bytes live: a small interface, content-addressed by SHA-256.

    key = storage.put(data)   # the SHA-256 of `data`, in hex
    data = storage.get(key)
    storage.delete(key)

`put` never replaces anything: the same bytes twice are one stored object (the second put finds
it and returns the same key), and a key always names the same bytes. `get` checks the bytes it
reads against their key, so a damaged object is an error (EvidenceMissing), never a wrong file.
`delete` is for the retention job: call it only once no `evidence_files` row holds the key (the
same bytes can be evidence on two cases).

Two kinds:
- `LocalStorage`: a folder (EVIDENCE_DIR, default var/evidence), one file per object at
  `ab/cd/abcd...` (the key's first two pairs of hex digits as folders). Written to a temporary
  file, then hard-linked into place, which fails rather than replaces if the object is there.
- `S3Storage`: an S3-compatible bucket (EVIDENCE_S3_BUCKET; EVIDENCE_S3_ENDPOINT_URL for MinIO,
  Ceph, ...) through boto3, object `EVIDENCE_S3_PREFIX + key`, written with `If-None-Match: *`
  (a conditional write: it never replaces an object). boto3 is imported only when a bucket is
  configured; it is not in requirements.lock (install it where S3 is used: `pip install boto3`).
  Credentials come the usual boto3 way (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile,
  an instance role), never from our settings.

Every method blocks (disk or network): from the web app, call them through admin.off_loop.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from config import Settings

KEY = re.compile(r"^[0-9a-f]{64}$")


class EvidenceMissing(LookupError):
    """No object under the key, or one whose bytes do not match it."""


class EvidenceStorage(Protocol):
    def put(self, data: bytes) -> str: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...


def key_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _checked_key(key: str) -> str:
    if not KEY.match(key):
        raise EvidenceMissing("not an evidence key (64 lower-case hex digits)")
    return key


def _verified(key: str, data: bytes) -> bytes:
    if key_of(data) != key:
        raise EvidenceMissing(f"the object {key[:12]}... does not match its key: it is damaged")
    return data


class LocalStorage:
    """Objects in a folder of the local disk (or a mounted volume)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        key = _checked_key(key)
        return self.root / key[:2] / key[2:4] / key

    def put(self, data: bytes) -> str:
        key = key_of(data)
        target = self.path(key)
        if target.exists():
            return key
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            with contextlib.suppress(FileExistsError):  # someone else put the same bytes
                os.link(temporary, target)
        finally:
            os.unlink(temporary)
        return key

    def get(self, key: str) -> bytes:
        try:
            data = self.path(key).read_bytes()
        except FileNotFoundError:
            raise EvidenceMissing(f"no object {key[:12]}... in the evidence folder") from None
        return _verified(key, data)

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


class S3Storage:
    """Objects in an S3-compatible bucket, through a boto3 S3 client (or one like it)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Storage:
        try:
            import boto3  # type: ignore[import-not-found,import-untyped,unused-ignore]
        except ImportError as err:
            raise RuntimeError(
                "EVIDENCE_S3_BUCKET is set but boto3 is not installed: `pip install boto3`, or "
                "unset it to keep evidence in EVIDENCE_DIR"
            ) from err
        client = boto3.client(
            "s3",
            endpoint_url=settings.evidence_s3_endpoint_url,
            region_name=settings.evidence_s3_region,
        )
        return cls(client, str(settings.evidence_s3_bucket), settings.evidence_s3_prefix)

    def name(self, key: str) -> str:
        return self.prefix + _checked_key(key)

    def _exists(self, name: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as err:
            if _status(err) == 404:
                return False
            raise
        return True

    def put(self, data: bytes) -> str:
        key = key_of(data)
        name = self.name(key)
        if self._exists(name):
            return key
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=name,
                Body=data,
                IfNoneMatch="*",  # never replace: 412 if it appeared meanwhile
                ContentType="application/octet-stream",
            )
        except Exception as err:
            if _status(err) not in (409, 412):  # 409: another put of it is in flight
                raise
        return key

    def get(self, key: str) -> bytes:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.name(key))
        except Exception as err:
            if _status(err) == 404:
                raise EvidenceMissing(f"no object {key[:12]}... in the bucket") from None
            raise
        return _verified(key, answer["Body"].read())

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.name(key))


def _status(err: Exception) -> int | None:
    """The HTTP status of a botocore ClientError (None for any other error)."""
    response = getattr(err, "response", None)
    if not isinstance(response, dict):
        return None
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = str(response.get("Error", {}).get("Code", ""))
    if code in ("404", "NoSuchKey", "NotFound"):
        return 404
    return int(status) if status else None


def storage_from_settings(settings: Settings) -> EvidenceStorage:
    """S3 when EVIDENCE_S3_BUCKET is set, else the folder EVIDENCE_DIR."""
    if settings.evidence_s3_bucket:
        return S3Storage.from_settings(settings)
    return LocalStorage(settings.evidence_dir)
