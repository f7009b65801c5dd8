"""Deliver a rendered letter: by email through SendGrid, or to the outbox folder.

- Email, with `SENDGRID_API_KEY` set: SendGrid's v3 Mail Send API, through the official library.
- Email without an API key, and every post letter: a file in
  `<OUTBOX_DIR>/<reference>/<letter key>.eml` (an RFC 5322 message) or `.html` (a printable A4
  letter with the address block) for someone to send or print.

Outbox files are written atomically (a temporary file in the same folder, then `os.replace`), so a
crash never leaves half a letter; a letter already in the outbox is not written again, so running
the same delivery twice leaves exactly one file.

`deliver` blocks (SendGrid's client is urllib): call it from a synchronous activity or through
`asyncio.to_thread`. It raises `DeliveryError` for failures worth retrying and
`PermanentDeliveryError` when a person must fix something first. Neither message, nor anything
logged here, contains the resident's name, email or address: only the case reference, the
letter key and what went wrong.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address as MailAddress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field
from python_http_client.exceptions import HTTPError as SendGridHTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    CustomArg,
    From,
    Header,
    Mail,
    MailSettings,
    SandBoxMode,
    To,
)

from config import Settings
from domain.letters import Delivery, LetterRequest
from domain.people import Address
from letters.render import RenderedLetter

log = logging.getLogger(__name__)

SENDGRID_TIMEOUT_SECONDS = 30.0
LETTER_KEY_HEADER = "X-Letter-Key"


class _NoRequestDetails(logging.Filter):
    """python_http_client logs each request's headers (the API key) and JSON body (names,
    addresses, the letter) at DEBUG level. Drop those records whatever the log level is."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


logging.getLogger("python_http_client.client").addFilter(_NoRequestDetails())


class DeliveryError(Exception):
    """Delivery failed for a reason that may pass (SendGrid 5xx or 429, network, disk): retry."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class PermanentDeliveryError(Exception):
    """Delivery was refused and retrying will not help (SendGrid 4xx other than 429, or no
    address to send to): a person must fix the data or the configuration."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class Delivered(BaseModel):
    provider_id: str | None = None  # SendGrid's X-Message-Id
    location: str | None = None  # the outbox file


class OutgoingLetter(BaseModel):
    """A rendered letter with its resolved recipient. Personal fields are left out of `repr`,
    so logging the object by mistake does not leak them."""

    model_config = ConfigDict(frozen=True)

    reference: str
    letter_key: str = Field(min_length=1)
    delivery: Delivery
    to_name: str = Field(repr=False)
    to_email: str | None = Field(default=None, repr=False)
    to_address: Address | None = Field(default=None, repr=False)
    rendered: RenderedLetter = Field(repr=False)

    @classmethod
    def for_request(
        cls, request: LetterRequest, rendered: RenderedLetter, settings: Settings
    ) -> OutgoingLetter:
        """The letter for `request` (rendered with `render_letter(request, ...)`), with the
        recipient resolved: the "team" role goes to `settings.team_inbox`."""
        recipient = request.recipient
        to_email = settings.team_inbox if recipient.role == "team" else recipient.email
        return cls(
            reference=request.reference,
            letter_key=request.key,
            delivery=request.delivery,
            to_name=recipient.name,
            to_email=str(to_email) if to_email else None,
            to_address=recipient.address,
            rendered=rendered,
        )

    @property
    def tag(self) -> str:
        """`<reference>/<letter key>`: identifies the letter (and any duplicate of it)."""
        return f"{self.reference}/{self.letter_key}"


def deliver(
    letter: OutgoingLetter,
    settings: Settings,
    *,
    timeout: float = SENDGRID_TIMEOUT_SECONDS,
    now: datetime | None = None,
) -> Delivered:
    """Send `letter` by SendGrid, or write it to the outbox (see the module docstring).
    `timeout` bounds each SendGrid request; `now` dates an outbox email (default: now)."""
    if letter.delivery is Delivery.email:
        if not letter.to_email:
            raise PermanentDeliveryError(
                f"Letter '{letter.letter_key}' for case {letter.reference} is to go by email, "
                "but the recipient has no email address. Add one, or send it by post."
            )
        if settings.sendgrid_api_key:
            return _send_by_sendgrid(letter, settings, timeout)
        return _write_outbox(letter, settings, "eml", lambda: _eml_bytes(letter, settings, now))
    if letter.to_address is None:
        raise PermanentDeliveryError(
            f"Letter '{letter.letter_key}' for case {letter.reference} is to go by post, but the "
            "recipient has no postal address. Add one, or send it by email."
        )
    return _write_outbox(letter, settings, "html", lambda: letter.rendered.html.encode("utf-8"))


# ----------------------------------------------------------------------------- SendGrid


def build_mail(letter: OutgoingLetter, settings: Settings) -> Mail:
    """The SendGrid Mail Send request for `letter`."""
    assert letter.to_email is not None
    mail = Mail(
        from_email=From(settings.mail_from, display_name(settings.landlord.name)),
        to_emails=To(letter.to_email, sendgrid_name(letter.to_name)),
        subject=letter.rendered.subject,
        plain_text_content=letter.rendered.text,
        html_content=letter.rendered.html,
    )
    mail.mail_settings = MailSettings(sandbox_mode=SandBoxMode(settings.sendgrid_sandbox))
    mail.add_custom_arg(CustomArg("reference", letter.reference))
    mail.add_custom_arg(CustomArg("letter_key", letter.letter_key))
    mail.add_header(Header(LETTER_KEY_HEADER, letter.tag))
    return mail


def _send_by_sendgrid(letter: OutgoingLetter, settings: Settings, timeout: float) -> Delivered:
    client = SendGridAPIClient(api_key=settings.sendgrid_api_key, host=settings.sendgrid_host)
    client.client.timeout = timeout  # python_http_client waits forever by default
    what = f"letter '{letter.letter_key}' for case {letter.reference}"
    try:
        response = client.send(build_mail(letter, settings))
    except SendGridHTTPError as err:
        status = int(err.status_code)
        if status == 429 or status >= 500:
            log.warning("SendGrid answered %s for letter %s; will retry", status, letter.tag)
            raise DeliveryError(
                f"SendGrid could not take {what} just now (HTTP {status}); it will be tried again.",
                status_code=status,
            ) from None
        log.error("SendGrid refused letter %s with HTTP %s", letter.tag, status)
        raise PermanentDeliveryError(
            f"SendGrid refused {what} (HTTP {status}){_error_fields(err.body)}. "
            f"{_REFUSAL_HINTS.get(status, _DEFAULT_HINT)}",
            status_code=status,
        ) from None
    except (OSError, http.client.HTTPException) as err:  # URLError, timeouts, dropped connections
        log.warning("Could not reach SendGrid for letter %s (%s)", letter.tag, type(err).__name__)
        raise DeliveryError(
            f"Could not reach SendGrid for {what} ({type(err).__name__}); it will be tried again."
        ) from None
    provider_id = response.headers.get("X-Message-Id") if response.headers else None
    log.info("Letter %s sent by SendGrid (HTTP %s)", letter.tag, response.status_code)
    return Delivered(provider_id=provider_id or None)


_REFUSAL_HINTS = {
    400: "Check the recipient's email address and the letter on the case, then send it again.",
    401: "Check SENDGRID_API_KEY, then send it again.",
    403: "Check that SENDGRID_API_KEY may send mail and MAIL_FROM is a verified sender.",
    413: "The letter is too large for SendGrid; shorten it, then send it again.",
}
_DEFAULT_HINT = "A person needs to look at this before it is sent again."
_SAFE_FIELD = re.compile(r"^[A-Za-z0-9_.\[\]-]{1,80}$")


def _error_fields(body: object) -> str:
    """The request fields SendGrid complained about (paths such as personalizations.0.to.0.email,
    never values), to help whoever fixes the data."""
    try:
        data = json.loads(body.decode("utf-8") if isinstance(body, bytes) else str(body))
        errors = data.get("errors", []) if isinstance(data, dict) else []
        fields = sorted(
            {
                e["field"]
                for e in errors
                if isinstance(e, dict)
                and isinstance(e.get("field"), str)
                and _SAFE_FIELD.match(e["field"])
            }
        )
    except (ValueError, TypeError, AttributeError):
        return ""
    return f"; fields: {', '.join(fields)}" if fields else ""


# ----------------------------------------------------------------------------- outbox


def safe_name(value: str) -> str:
    """A file or folder name from a reference or letter key: `breach:s1_contact:owner` becomes
    `breach_s1_contact_owner`. Never empty, never hidden, never a path."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", value).strip("._")
    return cleaned or "letter"


def outbox_path(letter: OutgoingLetter, settings: Settings, suffix: str) -> Path:
    return (
        Path(settings.outbox_dir)
        / safe_name(letter.reference)
        / (f"{safe_name(letter.letter_key)}.{suffix}")
    )


def _write_outbox(
    letter: OutgoingLetter, settings: Settings, suffix: str, content: Callable[[], bytes]
) -> Delivered:
    path = outbox_path(letter, settings, suffix)
    if path.exists():  # written whole by an earlier attempt: that letter stands
        log.info("Letter %s already in the outbox", letter.tag)
        return Delivered(location=str(path))
    try:
        write_atomically(path, content())
    except OSError as err:
        log.warning("Could not write letter %s to the outbox (%s)", letter.tag, type(err).__name__)
        raise DeliveryError(
            f"Could not write letter '{letter.letter_key}' for case {letter.reference} to the "
            f"outbox ({type(err).__name__}: {err.strerror or 'error'}); it will be tried again."
        ) from None
    log.info("Letter %s written to the outbox", letter.tag)
    return Delivered(location=str(path))


def write_atomically(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that readers see either no file or the whole file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where directories cannot be opened."""
    flags = getattr(os, "O_DIRECTORY", None)
    if flags is None:
        return
    try:
        fd = os.open(folder, os.O_RDONLY | flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _eml_bytes(letter: OutgoingLetter, settings: Settings, now: datetime | None) -> bytes:
    assert letter.to_email is not None
    message = EmailMessage()
    message["From"] = _mail_address(settings.landlord.name, settings.mail_from)
    message["To"] = _mail_address(letter.to_name, letter.to_email)
    message["Subject"] = letter.rendered.subject
    message["Date"] = format_datetime(now or datetime.now(UTC))
    domain = settings.mail_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = (
        f"<{safe_name(letter.reference)}.{safe_name(letter.letter_key)}@{domain}>"
    )
    message[LETTER_KEY_HEADER] = letter.tag
    message.set_content(letter.rendered.text)
    message.add_alternative(letter.rendered.html, subtype="html")
    return message.as_bytes(policy=EML_POLICY)


def _mail_address(name: str, email: str) -> MailAddress:
    local, _, domain = email.rpartition("@")
    return MailAddress(display_name=display_name(name), username=local, domain=domain)


# ----------------------------------------------------------------------------- recipients
#
# A display name is whatever a resident typed as their name: it may hold commas, quotes, "<", "@"
# or newlines. It must stay one recipient however it is written into a header. Python's email
# package (3.11, 3.12) drops the quotes around a long display name when it folds the header, so
# "Ann, attacker@evil.example, xxxx..." became three recipients: the .eml is generated with
# folding only past RFC 5322's 998-character line limit, and the name is capped well below it.

DISPLAY_NAME_MAX = 200
# CRLF line endings, as RFC 5322 asks; headers fold only past the hard line limit (see above)
EML_POLICY = SMTP.clone(max_line_length=998)
# the characters SendGrid's support names as breaking a recipient's name, and the quote itself
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,"]')


def display_name(name: str) -> str:
    """One line, at most DISPLAY_NAME_MAX characters."""
    text = " ".join(name.split())
    return text if len(text) <= DISPLAY_NAME_MAX else text[: DISPLAY_NAME_MAX - 1] + "…"


def sendgrid_name(name: str) -> str:
    """The `name` of a SendGrid recipient. SendGrid writes a recipient's name into the header as it
    is (its API limitations; sendgrid-ruby#394), so a name with RFC 5322 specials (a comma, "@",
    a quote) goes as one quoted string, escaped. The From name is SendGrid's to quote."""
    text = display_name(name)
    if not _SPECIALS.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
