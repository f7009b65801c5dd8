"""What every public page that only shows something shares: a view counted against the client
address's allowance (PUBLIC_PAGE_LIMIT_PER_ADDRESS), the 429 page once it is used up, and the
page for a resident's link that opens nothing."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import Response

from admin.app import render
from admin.off_loop import off_loop
from admin.rate_limits import RateLimits, Refused, StorageError

log = logging.getLogger(__name__)


def _refused(request: Request) -> Refused | None:
    limits: RateLimits = request.app.state.rate_limits
    return limits.page_view_refused(limits.client_address(request))


async def too_many_views(request: Request) -> Response | None:
    """None: show the page (this view is counted). Else the 429 page to answer with. If the
    counters cannot be reached, the page is shown all the same: it holds nothing private."""
    try:
        refused = await off_loop(_refused, request)
    except StorageError as err:
        log.warning("rate limits not answering: %s", type(err.storage_error).__name__)
        return None
    if refused is None:
        return None
    page = render(
        request,
        "error.html",
        429,
        title="Too many requests",
        message=f"You have asked for this page too many times. Try again in {refused.wait}.",
    )
    page.headers.update(refused.headers)
    return page


def link_not_valid(request: Request, message: str) -> Response:
    """The page for a resident's link that opens nothing (a survey or case link we did not sign,
    or one no longer valid): 404, and the same page whatever the reason, so it tells a stranger
    nothing."""
    return render(request, "error.html", 404, title="This link is not valid", message=message)
