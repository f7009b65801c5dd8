"""The satisfaction survey: `/survey/<token>`, open to everyone, no sign-in.

The link comes in the letter sent when a complaint closes after a response (domain.complaint
SURVEYED_CLOSURES); its token is signed with SURVEY_SECRET and carries the case reference and a
nonce only (letters/survey.py). One question and an optional comment; a reply is kept once
(records/satisfaction.py: the unique constraints decide between two posts at once). A token we
did not sign answers 404 "This link is not valid"; a link already answered answers 409 "You have
already answered". The page shows the case reference and nothing else about the case. Both GET
and POST are rate limited per client address (PUBLIC_PAGE_LIMIT_PER_ADDRESS); POST needs the
session's CSRF token like every form (admin/security.py).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from admin.app import render
from admin.off_loop import off_loop
from admin.public_pages import link_not_valid, too_many_views
from admin.queues import now_for
from domain.satisfaction import MAX_COMMENT, QUESTION, RATING_LABELS, Rating
from letters.survey import SurveyToken, read_token
from records.satisfaction import Recorded, Reply, SatisfactionReplies

router = APIRouter()
log = logging.getLogger(__name__)

CHOOSE = "Select how satisfied you are"
TOO_LONG = f"Your comment must be {MAX_COMMENT} characters or fewer"


def _replies(request: Request) -> SatisfactionReplies:
    return SatisfactionReplies(request.app.state.store)


def _not_valid(request: Request) -> Response:
    return link_not_valid(
        request,
        "Check that you copied the whole link from our letter. If it still does not work, "
        "call us and tell us your answer instead.",
    )


def _already(request: Request, token: SurveyToken) -> Response:
    return render(
        request,
        "survey_done.html",
        409,
        title="You have already answered",
        reference=token.reference,
        already=True,
    )


def _form(
    request: Request,
    token: SurveyToken,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "title": "How did we handle your complaint?",
        "reference": token.reference,
        "question": QUESTION,
        "choices": [(str(int(r)), RATING_LABELS[r]) for r in Rating],
        "values": values or {},
        "errors": errors or {},
        "max_comment": MAX_COMMENT,
    }
    return render(request, "survey.html", status_code, **context)


@router.get("/survey/{token}", include_in_schema=False)
async def survey(request: Request, token: str) -> Response:
    if (limited := await too_many_views(request)) is not None:
        return limited
    read = read_token(request.app.state.settings, token)
    if read is None:
        return _not_valid(request)
    if await off_loop(_replies(request).answered, read.reference, read.nonce):
        return _already(request, read)
    return _form(request, read)


@router.post("/survey/{token}", include_in_schema=False)
async def answer(request: Request, token: str) -> Response:
    if (limited := await too_many_views(request)) is not None:
        return limited
    read = read_token(request.app.state.settings, token)
    if read is None:
        return _not_valid(request)
    form = await request.form()
    values = {name: str(form.get(name) or "") for name in ("rating", "comment")}
    errors: dict[str, str] = {}
    if values["rating"] not in {str(int(r)) for r in Rating}:
        errors["rating"] = CHOOSE
    if len(values["comment"].strip()) > MAX_COMMENT:
        errors["comment"] = TOO_LONG
    if errors:
        return _form(request, read, values, errors, 400)
    try:
        reply = Reply(rating=Rating(int(values["rating"])), comment=values["comment"] or None)
    except ValidationError:  # checked above; a guard, not a path
        return _form(request, read, values, {"rating": CHOOSE}, 400)
    now = now_for(request.app.state)
    outcome = await off_loop(_replies(request).record, read.reference, read.nonce, reply, now)
    if outcome is Recorded.no_such_case:
        return _not_valid(request)
    if outcome is Recorded.already_answered:
        return _already(request, read)
    log.info("satisfaction reply recorded for %s", read.reference)
    return render(
        request, "survey_done.html", title="Thank you", reference=read.reference, already=False
    )
