"""Writing the access log (records/access_log.py) from a route: the staff id, what was done and
the case or person reference, nothing more."""

from __future__ import annotations

from fastapi import Request

from admin.off_loop import off_loop
from admin.queues import now_for
from records.access_log import Access, AccessLog


async def logged(
    request: Request,
    action: Access,
    *,
    reference: str | None = None,
    person: str | None = None,
    staff_id: str | None = None,
) -> None:
    """Log `action` by the signed-in member of staff (or `staff_id`)."""
    account = getattr(request.state, "account", None)
    who = staff_id or (account.id if account is not None else None)
    if who is None:
        return
    await off_loop(
        AccessLog(request.app.state.store).log,
        who,
        action,
        now_for(request.app.state),
        reference=reference,
        person=person,
    )
