"""A fake SendGrid v3 Mail Send API on 127.0.0.1, for tests.

SendGrid's Python library talks HTTP through urllib, so respx/responses cannot intercept it;
point `SendGridAPIClient(host=fake.url)` (or `Settings(sendgrid_host=fake.url)`) here instead. The
library appends `/v3/mail/send` to the host.

    with FakeSendGrid() as fake:
        settings = Settings(sendgrid_api_key="SG.test", sendgrid_host=fake.url)
        ...
        assert fake.requests[0]["personalizations"][0]["to"][0]["email"] == "jane@example.org"

Like SendGrid it answers 202 Accepted with an `X-Message-Id` header (200 OK when the request asks
for sandbox mode), 401 without a bearer token, and 400 with SendGrid's `errors` envelope when
the body is not JSON or lacks personalizations/to, from, subject or content. Failures can be
injected: `fail_next(503, times=2)` answers the next two requests with 503; `fail_until_recovered
(500)` fails every request until `recover()`.

A slow provider can be imitated: `hold_next()` keeps the next mail-send request open, read but
not yet answered, until `release()`; `delay_next(5)` does the same for five seconds.
`wait_until_held()` returns once a request is being held, so a test can act (stop the worker, say)
while the provider is taking a letter. A held request is answered as usual once let go (202, or an
injected failure), even if its client has given up meanwhile: SendGrid too may accept a message
whose caller never heard the answer.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

MAIL_SEND_PATH = "/v3/mail/send"

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops connections when many clients send at once


@dataclass(frozen=True)
class RecordedRequest:
    """One request the fake received, and how it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or the raw text if it was not JSON
    status: int
    message_id: str | None


@dataclass
class _Hold:
    remaining: int
    seconds: float | None  # None: until release()


@dataclass
class _Failure:
    status: int
    remaining: int | None  # None: until recover()
    body: dict[str, Any] = field(default_factory=dict)


class FakeSendGrid:
    """A threaded fake of SendGrid's Mail Send endpoint. Thread-safe; start it with `with` (or
    `start()`/`stop()`)."""

    def __init__(self, *, api_key: str | None = None) -> None:
        """`api_key`: if given, only `Authorization: Bearer <api_key>` is accepted (else 401)."""
        self.api_key = api_key
        self._lock = threading.Lock()
        self._calls: list[RecordedRequest] = []
        self._failures: list[_Failure] = []
        self._holds: list[_Hold] = []
        self._held: list[threading.Event] = []  # one for each request being held now
        self._held_changed = threading.Condition(self._lock)
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeSendGrid:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _handler_for(self))
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-sendgrid", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        with self._lock:
            self._holds.clear()
        self.release()
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSendGrid:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The host to give SendGridAPIClient, e.g. `http://127.0.0.1:54321`."""
        if self._server is None:
            raise RuntimeError("start the fake SendGrid server first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # ------------------------------------------------------------------ what it received

    @property
    def calls(self) -> list[RecordedRequest]:
        """Every request received, in order, with headers and the status answered."""
        with self._lock:
            return list(self._calls)

    @property
    def requests(self) -> list[Any]:
        """The JSON body of every POST to /v3/mail/send, in order, whatever was answered."""
        return [c.body for c in self.calls if c.path == MAIL_SEND_PATH and c.method == "POST"]

    @property
    def accepted(self) -> list[Any]:
        """The bodies answered with success (202, or 200 in sandbox mode): the mail "sent"."""
        return [c.body for c in self.calls if c.path == MAIL_SEND_PATH and c.status in (200, 202)]

    def reset(self) -> None:
        """Forget what was received and any failures still to come."""
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._holds.clear()
        self.release()

    # ------------------------------------------------------------------ failures

    def fail_next(
        self, status: int, times: int = 1, *, errors: list[dict[str, Any]] | None = None
    ) -> None:
        """Answer the next `times` mail-send requests with `status` (queued after any failures
        already set). `errors`: SendGrid-style error objects for the response body."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures.append(_Failure(status, times, _error_body(status, errors)))

    def fail_until_recovered(
        self, status: int, *, errors: list[dict[str, Any]] | None = None
    ) -> None:
        """Answer every mail-send request with `status` until `recover()`."""
        with self._lock:
            self._failures.append(_Failure(status, None, _error_body(status, errors)))

    def recover(self) -> None:
        """Stop failing: clear every injected failure."""
        with self._lock:
            self._failures.clear()

    # ------------------------------------------------------------------ slow answers

    def hold_next(self, times: int = 1) -> None:
        """Keep the next `times` mail-send requests open (received, not answered) until
        `release()`. Queued after any holds or delays already set."""
        self._add_hold(times, None)

    def delay_next(self, seconds: float, times: int = 1) -> None:
        """Answer the next `times` mail-send requests only after `seconds` (or `release()`)."""
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        self._add_hold(times, seconds)

    def _add_hold(self, times: int, seconds: float | None) -> None:
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._holds.append(_Hold(times, seconds))

    @property
    def held(self) -> int:
        """How many requests are being held open right now."""
        with self._lock:
            return len(self._held)

    def wait_until_held(self, count: int = 1, timeout: float = 30) -> bool:
        """Block until at least `count` requests are being held; False after `timeout` seconds."""
        with self._held_changed:
            return self._held_changed.wait_for(lambda: len(self._held) >= count, timeout)

    def release(self) -> None:
        """Let every request being held now be answered (holds still to come stay set)."""
        with self._lock:
            for event in self._held:
                event.set()

    def _hold_if_asked(self, method: str, path: str) -> None:
        if path != MAIL_SEND_PATH or method != "POST":
            return
        with self._lock:
            hold = self._holds[0] if self._holds else None
            if hold is None:
                return
            hold.remaining -= 1
            if hold.remaining == 0:
                self._holds.pop(0)
            event = threading.Event()
            self._held.append(event)
            self._held_changed.notify_all()
        try:
            event.wait(hold.seconds)
        finally:
            with self._lock:
                self._held.remove(event)
                self._held_changed.notify_all()

    # ------------------------------------------------------------------ answering

    def _answer(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        body: Any
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            body = raw.decode("utf-8", "replace")
        self._hold_if_asked(method, path)
        status, reply_headers, reply = self._decide(method, path, headers, body)
        message_id = reply_headers.get("X-Message-Id")
        with self._lock:
            self._calls.append(RecordedRequest(method, path, headers, body, status, message_id))
        return status, reply_headers, reply

    def _decide(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, dict[str, str], bytes]:
        if path != MAIL_SEND_PATH:
            return _json(404, {"errors": [{"message": "not found", "field": None}]})
        if method != "POST":
            return _json(405, {"errors": [{"message": "method not allowed", "field": None}]})
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        if not token or token == "None" or (self.api_key is not None and token != self.api_key):
            return _json(401, _error_body(401, None))
        with self._lock:
            failure = self._failures[0] if self._failures else None
            if failure is not None and failure.remaining is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.pop(0)
        if failure is not None:
            return _json(failure.status, failure.body)
        problems = _validate(body)
        if problems:
            return _json(400, {"errors": problems})
        sandbox = bool(
            isinstance(body, dict)
            and body.get("mail_settings", {}).get("sandbox_mode", {}).get("enable") is True
        )
        message_id = f"fake-{next(self._ids):06d}"
        return 200 if sandbox else 202, {"X-Message-Id": message_id}, b""


def _handler_for(fake: FakeSendGrid) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            path = self.path.split("?", 1)[0]
            status, reply_headers, reply = fake._answer(self.command, path, headers, raw)
            self.send_response(status, _REASONS.get(status))
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            if reply:
                self.wfile.write(reply)

        do_POST = do_GET = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode("utf-8")


def _error_body(status: int, errors: list[dict[str, Any]] | None) -> dict[str, Any]:
    if errors is not None:
        return {"errors": errors}
    return {"errors": [{"message": f"fake SendGrid error {status}", "field": None, "help": None}]}


def _validate(body: Any) -> list[dict[str, Any]]:
    """The checks SendGrid makes that a client bug would most likely trip."""
    if not isinstance(body, dict):
        return [{"message": "Bad Request", "field": None, "help": None}]
    problems: list[dict[str, Any]] = []

    def problem(field_name: str, message: str) -> None:
        problems.append({"message": message, "field": field_name, "help": None})

    personalizations = body.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problem("personalizations", "The personalizations field is required.")
    else:
        for i, p in enumerate(personalizations):
            to = p.get("to") if isinstance(p, dict) else None
            if not isinstance(to, list) or not to:
                problem(f"personalizations.{i}.to", "The to array is required.")
                continue
            for j, recipient in enumerate(to):
                email = recipient.get("email") if isinstance(recipient, dict) else None
                if not isinstance(email, str) or "@" not in email:
                    problem(
                        f"personalizations.{i}.to.{j}.email", "Does not contain a valid address."
                    )
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        problem("from.email", "The from email does not contain a valid address.")
    if "template_id" not in body:
        if not body.get("subject") and not any(
            isinstance(p, dict) and p.get("subject") for p in personalizations or []
        ):
            problem("subject", "The subject is required.")
        contents = body.get("content")
        if not isinstance(contents, list) or not contents:
            problem("content", "The content field is required.")
        elif not all(isinstance(c, dict) and c.get("type") and c.get("value") for c in contents):
            problem("content", "Each content must have a type and a non-empty value.")
    return problems
