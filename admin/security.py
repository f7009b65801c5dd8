"""Sign-in, roles and CSRF for the admin app (sign-in's rate limits: admin/rate_limits.py).

Sessions are Starlette's signed cookies (itsdangerous). Every unsafe request (POST, PUT, PATCH,
DELETE) must carry the session's CSRF token, as the form field `csrf_token` or the header
`X-CSRF-Token`; the check is a dependency of the whole app, so no route can forget it.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

from fastapi import Depends, HTTPException, Request

from admin.accounts import Account, AccountStore, Role
from domain.complaint import Step

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The only unsafe requests without a CSRF token: the Temporal Web UI's calls to our remote codec
# (admin/routes/codec.py). The Web UI is another origin and cannot read or send our token; instead
# those routes refuse any request whose Origin is not exactly TEMPORAL_UI_URL (a forged cross-site
# request carries the attacker's Origin, which browsers do not let pages set) and still need a
# signed-in staff session. Exact paths, so nothing else can slip through.
CSRF_EXEMPT_PATHS = frozenset({"/codec/encode", "/codec/decode"})
# SendGrid's Inbound Parse webhook (admin/routes/inbound.py) posts each incoming email from
# SendGrid's servers: it has no session and cannot hold a CSRF token. The secret in the URL
# (INBOUND_PARSE_SECRET, and optionally HTTP basic auth) replaces the token there, and the route
# answers 404 to any post without it. No session, no staff rights: it can only lodge an enquiry.
CSRF_EXEMPT_PREFIXES = ("/inbound/sendgrid/",)


class SignInRequired(Exception):
    """Raised by `current_account`; the app turns it into a redirect (pages) or a 401 (API)."""


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def csrf_protect(request: Request) -> None:
    path = request.url.path
    if (
        request.method not in UNSAFE
        or path in CSRF_EXEMPT_PATHS
        or path.startswith(CSRF_EXEMPT_PREFIXES)
    ):
        return
    expected = request.session.get("csrf")
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise HTTPException(
            status_code=403,
            detail="This form has expired or did not come from this site. "
            "Go back, reload the page and try again.",
        )


def accounts(request: Request) -> AccountStore:
    return request.app.state.accounts


def current_account(request: Request) -> Account:
    """The signed-in account, or SignInRequired: signed out, or the session ended by a change to
    the account. It reads the records database, so it is a plain `def`: as a dependency FastAPI
    runs it in the worker-thread pool, off the event loop; called from `async` code, call it
    through `await off_loop(current_account, request)` (admin/off_loop.py)."""
    sid = request.session.get("sid")
    account = accounts(request).session_account(sid) if sid else None
    if account is None:
        request.session.pop("sid", None)
        raise SignInRequired()
    request.state.account = account
    return account


def require_role(*roles: Role) -> Callable[..., Account]:
    def check(account: Account = Depends(current_account)) -> Account:
        if account.role not in roles:
            names = ", ".join(r.value.replace("_", " ") for r in roles)
            raise Forbidden(f"Only a {names} can do this.")
        return account

    return check


def require_step(account: Account, step: Step) -> None:
    if not account.may(step):
        raise Forbidden(
            f"Your role ({account.role.value.replace('_', ' ')}) cannot "
            f"'{step.value.replace('_', ' ')}'. Ask a colleague whose role can."
        )


def sign_in(request: Request, account: Account) -> None:
    """Open a new session for `account`. It writes to the records database, so it blocks:
    call it as `await off_loop(sign_in, request, account)` (admin/off_loop.py)."""
    sid = accounts(request).open_session(account.id)  # first: a failure keeps the old session
    request.session.clear()  # a new session on sign-in: no fixation
    request.session["sid"] = sid
    csrf_token(request)


def sign_out(request: Request) -> None:
    """End the session. Blocking, as `sign_in`: `await off_loop(sign_out, request)`."""
    sid = request.session.get("sid")
    if sid:
        accounts(request).close_session(sid)
    request.session.clear()
