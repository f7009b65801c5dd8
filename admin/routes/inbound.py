"""Email intake: SendGrid's Inbound Parse webhook turns each email to the landlord into an enquiry.

In SendGrid (Settings > Inbound Parse) point the receiving hostname at

    https://<host>/inbound/sendgrid/<INBOUND_PARSE_SECRET>
    (or https://<INBOUND_PARSE_USER>:<INBOUND_PARSE_PASSWORD>@<host>/inbound/sendgrid/<secret>)

and leave "POST the raw, full MIME message" unticked: this endpoint reads the parsed fields
(`headers`, `from`, `to`, `cc`, `subject`, `text`, `html`, `envelope`, `attachments`,
`charsets`, ...; the rest, such as `dkim`, `SPF` and `spam_score`, are ignored).

Protection. Open without staff sign-in and exempt from the CSRF check (SendGrid cannot hold a
token): the secret in the URL replaces it. INBOUND_PARSE_SECRET unset turns the endpoint off.

Routing. An email to the help address (LANDLORD_EMAIL) in `to`, `cc` or `envelope.to` is a
`help_email` enquiry: next-working-day clock, and the workflow sends the automatic confirmation
with the reference and the reply date. Any other address makes a `team_email` enquiry (5 working
days, no automatic reply) addressed to the recipient (the first at the landlord's own domain).
Mail to one of EXECUTIVE_ADDRESSES is flagged `addressed_to_executive` and the workflow routes it
to the customer resolution team. `cc` counts because SendGrid posts an email once per envelope
recipient: an email to repairs@ copied to help@ is then the same help_email enquiry whichever
post arrives first.

Idempotent. The reference is derived from the email's Message-ID (or, without one, a hash of
its headers, sender, subject and text), so SendGrid's retries and the second post of an email
sent to two of our addresses find the enquiry already lodged and start nothing. Should the
derived reference belong to another enquiry (1 in 32^8), the next reference derived from the
same seed is tried, so a retry of that email still finds its own enquiry.

Answers (SendGrid treats any answer but 2xx as failed and retries it for up to 3 days):
- 200 {"reference": "ENQ-..."}: lodged now, or already lodged by an earlier post;
- 200 {"reference": null, "skipped": "..."}: an automatic message (an `Auto-Submitted` header
  other than "no", RFC 3834: out-of-office replies, bounces), not lodged, so our automatic
  confirmation never answers another robot;
- 404: the endpoint is off or the secret is wrong; 401: basic auth is on and missing or wrong;
- 415: the body is not multipart/form-data;
- 400 {"detail": "<field>: ..."}: a post that could never become an enquiry: `from` missing or
  without an email address, no recipient at all (`to`, `cc` and `envelope.to` all empty), a
  malformed `envelope`, `charsets` or `attachments`, or a raw MIME post (field `email`);
- 503: Temporal cannot be reached: SendGrid tries again later.
A rejected post lodges nothing and sends nothing. The log names the reference, or the reason a
post was refused, and nothing more: no addresses, subjects or message text; uvicorn's access log
shows the path as /inbound/sendgrid/<secret>. (A reverse proxy in front logs its own request
lines: keep the path out of those too, or rotate the secret if they leak.)

The email's text is the `text` field, else the `html` field as plain text; an email with
neither is still lodged (staff read it in the mailbox).

Attachments are kept on the enquiry as evidence (records/evidence.py), checked as a staff upload
is (domain/evidence.py: by content, EVIDENCE_MAX_BYTES): each one kept is a file on the enquiry,
and on the complaint it may become; each one refused is a line on the enquiry's timeline naming
it and why, and stays in the mailbox. A refused attachment never stops the enquiry being lodged.
The enquiry's message says how many there were and what became of them. They are kept after the
enquiry is lodged (its reference is known then), once: a retry of the post finds the same bytes
already on the enquiry (one row per enquiry and SHA-256), and notes a refusal only once (keyed
by the email and the attachment's place in it). Should keeping them fail (the evidence storage
down), the post answers 500 and SendGrid's retry keeps them.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import logging
import re
from datetime import datetime
from email.header import decode_header, make_header
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError, field_validator
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException

from admin.queues import now_for
from admin.routes.evidence import evidence_storage
from admin.temporal import (
    Client,
    ReferencesTaken,
    TemporalDown,
    lodge_once,
    new_enquiry_reference,
    require_temporal,
    when_temporal_down,
)
from config import Settings
from domain.enquiry import EnquiryChannel, LodgeEnquiry
from domain.evidence import CheckedFile, EvidenceRefused, check_file
from domain.people import ContactMethod
from letters.render import html_to_text
from records.evidence import EvidenceEvent, EvidenceSource, EvidenceStore

router = APIRouter(prefix="/inbound", include_in_schema=False)
log = logging.getLogger(__name__)
SECRET_IN_PATH = re.compile(r"(/inbound/sendgrid/)[^\s?#\"]+")


class HideInboundSecret(logging.Filter):
    """uvicorn's access log writes each request's path; keep the URL secret out of it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                SECRET_IN_PATH.sub(r"\1<secret>", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True


HIDE_SECRET = HideInboundSecret()
logging.getLogger("uvicorn.access").addFilter(HIDE_SECRET)  # once: the same filter is not re-added

MAX_SUBJECT = 300
MAX_MESSAGE = 50000
MAX_NAME = 200
MAX_ADDRESSED_TO = 200
MAX_MESSAGE_ID = 998
# SendGrid's limit for a whole email; text fields are read into memory up to this size
MAX_PART_BYTES = 30 * 1024 * 1024
TEXT_FIELDS = ("from", "to", "cc", "subject", "text", "html", "headers")


class Attachment:
    """An attachment of the post, checked: kept (`checked` and its bytes) or refused (why)."""

    def __init__(self, place: int, filename: str | None, data: bytes, max_bytes: int) -> None:
        self.place = place  # 1 for the first file part of the post
        self.data = data
        self.checked: CheckedFile | None = None
        self.refusal: EvidenceRefused | None = None
        try:
            self.checked = check_file(filename, data, max_bytes)
        except EvidenceRefused as refused:
            self.refusal = refused


class Refused(Exception):
    def __init__(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


class Envelope(BaseModel):
    """The SMTP envelope: `to` lists the address SendGrid received the email for."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    to: list[str] = Field(default_factory=list)
    from_: str | None = Field(default=None, alias="from")

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class InboundParsePost(BaseModel):
    """The fields of SendGrid's parsed post that we read. Text fields are already decoded."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(alias="from", min_length=1)
    to: str = ""
    cc: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    headers: str = ""
    envelope: Json[Envelope] | None = None
    attachments: int | None = Field(default=None, ge=0, le=10000)
    charsets: Json[dict[str, str]] | None = None


def inbound_access(request: Request, secret: str) -> None:
    """The secret in the URL (and basic auth when set): checked before anything else, so a post
    without them is a 404 (or 401) whatever state Temporal is in."""
    try:
        _check_access(request, request.app.state.settings, secret)
    except Refused as refused:
        raise HTTPException(refused.status, refused.detail, refused.headers) from None


async def _temporal_down(request: Request, exc: TemporalDown) -> Response:
    log.warning("inbound email not lodged: Temporal is not answering; SendGrid will retry")
    return JSONResponse({"detail": exc.message}, status_code=503)


@router.post("/sendgrid/{secret}", dependencies=[Depends(inbound_access)])
@when_temporal_down(_temporal_down)
async def sendgrid_inbound_parse(
    request: Request, client: Client = Depends(require_temporal)
) -> Response:
    settings: Settings = request.app.state.settings
    try:
        post, files = await _read_post(request, settings.evidence_max_bytes)
        if (auto := _automatic(post)) is not None:
            log.info("inbound email not lodged: an automatic message (Auto-Submitted: %s)", auto)
            return JSONResponse(
                {"reference": None, "skipped": f"automatic message (Auto-Submitted: {auto})"}
            )
        now = now_for(request.app.state)  # posted as it arrives: received now
        enquiry, seed = build_enquiry(post, settings, files, now)
        reference = await _lodge(client, enquiry, seed, settings, now)
        if files:
            await run_in_threadpool(_keep_attachments, request, reference, seed, files, now)
    except Refused as refused:
        log.warning("inbound email refused (%s): %s", refused.status, refused.detail)
        return JSONResponse(
            {"detail": refused.detail}, status_code=refused.status, headers=refused.headers
        )
    return JSONResponse({"reference": reference})


# ------------------------------------------------------------------------------- access


def _check_access(request: Request, settings: Settings, secret: str) -> None:
    expected = settings.inbound_parse_secret
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        if expected:
            log.warning("inbound email post refused: wrong secret in the URL")
        raise Refused(404, "Not Found")
    user, password = settings.inbound_parse_user, settings.inbound_parse_password
    if user and password and not _basic_auth_matches(request, user, password):
        log.warning("inbound email post refused: missing or wrong basic auth")
        raise Refused(
            401,
            "Sign in with the inbound parse user and password.",
            {"WWW-Authenticate": 'Basic realm="inbound email", charset="UTF-8"'},
        )


def _basic_auth_matches(request: Request, user: str, password: str) -> bool:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    sent_user, sep, sent_password = decoded.partition(":")
    # both compared every time, so the answer takes as long whichever is wrong
    user_ok = hmac.compare_digest(sent_user.encode(), user.encode())
    password_ok = hmac.compare_digest(sent_password.encode(), password.encode())
    return bool(sep) and user_ok and password_ok


# --------------------------------------------------------------------------------- post


async def _read_post(request: Request, max_bytes: int) -> tuple[InboundParsePost, list[Attachment]]:
    """The post's fields, and its files (attachments), each checked."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise Refused(
            415,
            "body: expected multipart/form-data, as SendGrid's Inbound Parse webhook posts it",
        )
    try:
        form = await request.form(max_part_size=MAX_PART_BYTES)
    except HTTPException as err:  # Starlette's answer to a broken multipart body
        raise Refused(400, f"body: not a readable multipart/form-data post ({err.detail})") from err
    try:
        post = parse_post(form)
        files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        attachments = []
        for place, upload in enumerate(files, start=1):
            data = await upload.read(max_bytes + 1)
            attachments.append(Attachment(place, upload.filename, data, max_bytes))
            if upload.size and upload.size > max_bytes:  # read only as far as the limit
                attachments[-1].refusal = _too_big(upload.filename, upload.size, max_bytes)
        return post, attachments
    finally:
        await form.close()  # their temporary files go now: what is kept is in `attachments`


def _too_big(filename: str | None, size: int, max_bytes: int) -> EvidenceRefused | None:
    try:
        check_file(filename, b"", max_bytes, size=size)
    except EvidenceRefused as refused:
        return refused
    return None  # pragma: no cover - a size over the limit is always refused


def parse_post(form: FormData) -> InboundParsePost:
    values: dict[str, Any] = {}
    for name in (*TEXT_FIELDS, "envelope", "attachments", "charsets", "email"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            values[name] = value
    if "email" in values and "from" not in values:
        raise Refused(
            400,
            'email: this is a raw MIME post; untick "POST the raw, full MIME message" in '
            "SendGrid's Inbound Parse settings so it posts the parsed fields",
        )
    try:
        post = InboundParsePost.model_validate(values)
    except ValidationError as err:
        first = err.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "body"
        if field == "from_":
            field = "from"
        problem = "missing" if first["type"] == "missing" else first["msg"]
        raise Refused(400, f"{field}: {problem}") from err
    return _recoded(post)


def _recoded(post: InboundParsePost) -> InboundParsePost:
    """Text fields in the charsets SendGrid names. The form parser decodes each field as UTF-8,
    falling back to Latin-1 byte for byte; a field whose charset is another one is decoded
    again from those bytes."""
    changes: dict[str, str] = {}
    for name, charset in (post.charsets or {}).items():
        attribute = "from_" if name == "from" else name
        if name not in TEXT_FIELDS or charset.lower().replace("-", "") in {"utf8", "usascii"}:
            continue
        value: str = getattr(post, attribute)
        try:
            changes[attribute] = value.encode("latin-1").decode(charset, errors="replace")
        except (UnicodeEncodeError, LookupError):
            continue  # it was valid UTF-8 after all, or a charset Python does not know
    return post.model_copy(update=changes) if changes else post


def _headers(post: InboundParsePost) -> Message | None:
    return HeaderParser().parsestr(post.headers) if post.headers else None


def _automatic(post: InboundParsePost) -> str | None:
    """The Auto-Submitted value of an automatic message (RFC 3834), else None."""
    headers = _headers(post)
    value = (headers.get("Auto-Submitted", "") if headers else "").strip().lower()
    token = re.sub(r"[^a-z0-9-]", "", value.split(";")[0])[:40]  # a keyword, safe to log
    return token if value and token != "no" else None


def _decoded(value: str) -> str:
    """A header value with RFC 2047 encoded words (=?UTF-8?Q?...?=) decoded, spaces collapsed."""
    with contextlib.suppress(LookupError, UnicodeDecodeError, ValueError):
        value = str(make_header(decode_header(value)))
    return " ".join(value.split())


# ------------------------------------------------------------------------------ enquiry


def build_enquiry(
    post: InboundParsePost, settings: Settings, files: list[Attachment], received_at: datetime
) -> tuple[LodgeEnquiry, str]:
    """The enquiry an email makes, and the seed its reference is derived from."""
    name, address = parseaddr(post.from_)
    if "@" not in address:
        raise Refused(400, "from: no email address in it")
    name = _decoded(name) or address.split("@", 1)[0]

    headers = _headers(post)
    message_id = " ".join(str(headers.get("Message-ID", "")).split()) if headers else ""
    message_id = message_id[:MAX_MESSAGE_ID] or None
    seed = (
        message_id
        or hashlib.sha256(
            "\0".join((post.headers, post.from_, post.subject, post.text)).encode()
        ).hexdigest()
    )

    data: dict[str, Any] = {
        "reference": new_enquiry_reference(seed),
        "enquirer": {
            "name": name[:MAX_NAME],
            "email": address,
            "preferred_contact": ContactMethod.email,
        },
        "received_at": received_at,
        "subject": (_decoded(post.subject) or "(no subject)")[:MAX_SUBJECT],
        "message": _message(post, files),
        "message_id": message_id,
        "lodged_by": None,
        **_routing(post, settings),
    }
    try:
        return LodgeEnquiry.model_validate(data), seed
    except ValidationError as err:
        first = err.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else ""
        if where == "enquirer":  # the validator's reason may quote the address: not logged
            raise Refused(400, "from: not an email address we could reply to") from err
        field = {"message": "text", "addressed_to": "to"}.get(where, where or "body")
        raise Refused(400, f"{field}: {first['msg']}") from err


def _message(post: InboundParsePost, files: list[Attachment]) -> str:
    body = post.text.strip()
    if not body and post.html:
        body = html_to_text(post.html).strip()
    body = body or "(The email had no message text.)"
    count = post.attachments if post.attachments is not None else len(files)  # SendGrid's
    note = ""
    if count:
        noun = "attachment" if count == 1 else "attachments"
        kept = sum(1 for f in files if f.refusal is None)
        refused = len(files) - kept
        said = [f"This email had {count} {noun}."]
        if kept:
            said.append(f"{kept} kept with the enquiry as evidence.")
        if refused:
            said.append(
                f"{refused} not kept (a type or size we do not keep: see the timeline); "
                f"{'it is' if refused == 1 else 'they are'} still in the mailbox it was sent to."
            )
        if not files:  # counted by SendGrid, but not posted to us
            said.append("They are in the mailbox it was sent to.")
        note = "\n\n[" + " ".join(said) + "]"
    return body[: MAX_MESSAGE - len(note)] + note


def _routing(post: InboundParsePost, settings: Settings) -> dict[str, Any]:
    """channel, addressed_to and addressed_to_executive, from who the email was sent to."""
    named = [
        (_decoded(name), address.strip().lower())
        for name, address in getaddresses([post.to, post.cc])
        if "@" in address
    ]
    envelope = [
        ("", address.strip().lower())
        for _, address in getaddresses(post.envelope.to if post.envelope else [])
        if "@" in address
    ]
    recipients = named + envelope
    if not recipients:
        raise Refused(400, "to: the email has no recipient address (to, cc and envelope.to)")
    addresses = [address for _, address in recipients]
    help_address = settings.landlord.email.strip().lower()
    routing: dict[str, Any] = {"channel": EnquiryChannel.help_email}
    if help_address not in addresses:
        domain = help_address.rpartition("@")[2]
        ours = [a for a in addresses if a.rpartition("@")[2] == domain]
        routing = {
            "channel": EnquiryChannel.team_email,
            "addressed_to": (ours or addresses)[0][:MAX_ADDRESSED_TO],
        }
    executive = next((r for r in recipients if r[1] in settings.executive_addresses), None)
    if executive is not None:
        shown = next((n for n, a in named if a == executive[1] and n), executive[1])
        routing |= {"addressed_to_executive": True, "addressed_to": shown[:MAX_ADDRESSED_TO]}
    return routing


# -------------------------------------------------------------------------------- lodge


async def _lodge(
    client: Client, enquiry: LodgeEnquiry, seed: str, settings: Settings, now: datetime
) -> str:
    """Lodge the email's enquiry unless an earlier post of it already did (lodge_once, keyed by
    the Message-ID or the hash standing in for it); its reference."""
    try:
        result = await lodge_once(
            client,
            enquiry,
            settings.task_queue,
            policy=settings.policy,
            submission_key=seed,
            now=now,
        )
    except ReferencesTaken as err:
        raise Refused(503, "Every reference for this email is taken; try again later.") from err
    if result.created:
        log.info("inbound email lodged as enquiry %s", result.reference)
    else:
        log.info("inbound email already lodged as enquiry %s", result.reference)
    return result.reference


# ---------------------------------------------------------------------------- attachments


def _keep_attachments(
    request: Request, reference: str, seed: str, files: list[Attachment], now: datetime
) -> None:
    """Keep each attachment on the enquiry, or note why not (blocking: storage and SQL). Run on
    every post of the email: the same bytes are one row, a refusal is noted once."""
    storage = evidence_storage(request)
    evidence = EvidenceStore(request.app.state.store)
    email_key = hashlib.sha256(seed.encode()).hexdigest()[:32]  # the Message-ID: not stored
    kept = refused = 0
    for attachment in files:
        if attachment.checked is not None and attachment.refusal is None:
            storage.put(attachment.data)
            evidence.add(
                reference,
                attachment.checked,
                note="Attached to the email",
                source=EvidenceSource.email,
                by=None,
                now=now,
            )
            kept += 1
        elif attachment.refusal is not None:
            evidence.log(
                reference,
                EvidenceEvent.refused,
                by=None,
                now=now,
                detail=attachment.refusal.message,
                key=f"email:{email_key}:{attachment.place}",
            )
            refused += 1
    log.info("inbound email %s: %d attachments kept, %d refused", reference, kept, refused)
