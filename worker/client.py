"""One way to reach Temporal, shared by the worker, the starter and the admin app."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import sys
import tempfile
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import Runtime

from config import REPO_ROOT, Settings
from worker.codec import data_converter, new_key_line

DEV_PAYLOAD_KEYS_FILE = REPO_ROOT / "var" / "payload-keys"
DEV_SURVEY_SECRET_FILE = REPO_ROOT / "var" / "survey-secret"


class PayloadKeysMissing(RuntimeError):
    pass


def with_payload_keys(settings: Settings) -> Settings:
    """Settings as the programs run them (`python -m worker|starter|admin`): PAYLOAD_KEYS as set;
    in development without it, one key made once in var/payload-keys, so `make run` encrypts by
    default. Production without PAYLOAD_KEYS is refused by `connect`."""
    if settings.payload_keys or settings.production:
        return settings
    if not DEV_PAYLOAD_KEYS_FILE.exists():
        # `make run` starts the worker and the admin app at once: whoever links first wins,
        # and both then read the same key
        DEV_PAYLOAD_KEYS_FILE.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=DEV_PAYLOAD_KEYS_FILE.parent, prefix=".payload-keys.")
        try:
            with os.fdopen(fd, "w") as out:
                out.write(new_key_line("dev1") + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, DEV_PAYLOAD_KEYS_FILE)
        finally:
            os.unlink(tmp)
    return settings.model_copy(update={"payload_keys": DEV_PAYLOAD_KEYS_FILE.read_text().strip()})


class SurveySecretMissing(RuntimeError):
    pass


def with_survey_secret(settings: Settings) -> Settings:
    """Settings as the worker and the admin app run them: SURVEY_SECRET as set (it signs the
    satisfaction survey links the worker writes and the admin app checks); in development without
    it, one secret made once in var/survey-secret and shared by both. Production refuses."""
    if settings.survey_secret:
        return settings
    if settings.production:
        raise SurveySecretMissing(
            "APP_ENV=production needs SURVEY_SECRET set (a long secret, the same for the worker "
            "and the admin app; see .env.example)."
        )
    _make_once(DEV_SURVEY_SECRET_FILE, secrets.token_urlsafe(48))
    return settings.model_copy(update={"survey_secret": DEV_SURVEY_SECRET_FILE.read_text().strip()})


def _make_once(path: Path, text: str) -> None:
    """Write `path` once: whoever links first wins (`make run` starts two programs at once)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text + "\n")
        os.chmod(tmp, 0o600)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        os.unlink(tmp)


class TemporalUnreachable(Exception):
    pass


async def connect(settings: Settings, runtime: Runtime | None = None) -> Client:
    """A client whose payloads are encrypted with PAYLOAD_KEYS (worker/codec.py); without keys
    (tests that build Settings themselves) payloads are plain, and production refuses."""
    if settings.production and not settings.payload_keys:
        raise PayloadKeysMissing(
            "APP_ENV=production needs PAYLOAD_KEYS set: make a key with "
            "`python -m worker.codec new-key` (see .env.example)."
        )
    try:
        return await Client.connect(
            settings.temporal_address,
            namespace=settings.temporal_namespace,
            data_converter=data_converter(settings),
            runtime=runtime,
        )
    except RuntimeError as err:
        if "connect" not in str(err).lower():
            raise
        raise TemporalUnreachable(
            f"Cannot reach Temporal at {settings.temporal_address}: is it running? "
            "(`make run` starts a local one; TEMPORAL_ADDRESS says where to look.)"
        ) from err


def exit_now(code: int) -> None:
    """Exit without interpreter teardown: the Temporal client's Rust threads can crash a
    finalising interpreter (temporalio/sdk-python#300), turning a finished command into SIGSEGV."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
