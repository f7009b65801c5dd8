"""Sign in and out."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from admin.app import render
from admin.off_loop import off_loop
from admin.rate_limits import RateLimits, StorageError
from admin.security import sign_in, sign_out

router = APIRouter()
log = logging.getLogger(__name__)


def _safe_next(target: str | None) -> str:
    # only paths on this site: never an open redirect
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@router.get("/login", include_in_schema=False)
async def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", title="Sign in", next=_safe_next(next), error=None)


@router.post("/login", include_in_schema=False)
async def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    next: str = Form("/"),
) -> Response:
    """Every attempt is counted (admin/rate_limits.py) before the password is checked, and a
    success clears the count. The limiter's storage, argon2 and the records database all block:
    they run in the thread pool, so a flood of sign-ins leaves the event loop free."""
    limits: RateLimits = request.app.state.rate_limits
    address = limits.client_address(request)

    def page(status_code: int, error: str) -> Response:
        return render(
            request, "login.html", status_code, title="Sign in", next=_safe_next(next), error=error
        )

    try:
        refused = await off_loop(limits.sign_in_refused, username, address)
    except StorageError as err:
        log.warning("rate limits not answering: %s", type(err.storage_error).__name__)
        return page(503, "Sign-in is not working just now. Try again in a few minutes.")
    if refused:
        response = page(
            429, f"You have tried to sign in too many times. Try again in {refused.wait}."
        )
        response.headers.update(refused.headers)
        return response
    account = await off_loop(request.app.state.accounts.authenticate, username, password)
    if account is None:
        return page(400, "The username or password is not right.")
    try:
        await off_loop(limits.sign_in_succeeded, username, address)
    except StorageError as err:  # signed in all the same: the count ends with its window
        log.warning("rate limits not answering: %s", type(err.storage_error).__name__)
    await off_loop(sign_in, request, account)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    await off_loop(sign_out, request)
    return RedirectResponse("/login", status_code=303)
