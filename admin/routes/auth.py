"""Sign in and out."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from admin.app import render
from admin.security import sign_in, sign_out

router = APIRouter()


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
    limiter = request.app.state.login_limiter
    keys = (
        f"user:{username.strip().lower()}",
        f"ip:{request.client.host if request.client else '?'}",
    )
    wait = limiter.retry_after(*keys)
    if wait:
        minutes = max(1, round(wait / 60))
        return render(
            request,
            "login.html",
            429,
            title="Sign in",
            next=_safe_next(next),
            error=f"Too many failed attempts. Try again in {minutes} minute(s).",
        )
    account = request.app.state.accounts.authenticate(username, password)
    if account is None:
        limiter.failed(*keys)
        return render(
            request,
            "login.html",
            400,
            title="Sign in",
            next=_safe_next(next),
            error="The username or password is not right.",
        )
    limiter.succeeded(*keys)
    sign_in(request, account)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout", include_in_schema=False)
async def logout(request: Request) -> Response:
    sign_out(request)
    return RedirectResponse("/login", status_code=303)
