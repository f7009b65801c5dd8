"""The rules a new case must meet whichever way it comes in (staff forms, the residents' form, the
API, email, the command line), before its workflow starts. Pure: the caller says what "now" is.

`received_at` is when the resident got in touch: it starts the clocks and is quoted in letters.
One in the future would promise a response date before the day the complaint arrived, so it is
refused, with a minute's leeway for clocks that differ a little.
"""

from __future__ import annotations

from datetime import datetime, timedelta

FUTURE_LEEWAY = timedelta(minutes=1)
RECEIVED_AT = "received_at"


class ReceivedInFuture(ValueError):
    """A `received_at` after now. `str()` names the field (for the API and the command line);
    `reason` is the same without it (for a message beside a form's field)."""

    field = RECEIVED_AT

    def __init__(self, received_at: datetime, now: datetime) -> None:
        self.received_at = received_at
        self.now = now
        self.reason = (
            f"{received_at.isoformat(timespec='minutes')} is in the future; "
            "give when the resident got in touch"
        )
        super().__init__(f"{self.field}: {self.reason}")


def check_received_at(received_at: datetime, now: datetime) -> None:
    """Raise ReceivedInFuture if `received_at` is more than FUTURE_LEEWAY after `now`. Both must
    carry a time zone (a case's `received_at` always does)."""
    if received_at.tzinfo is None or now.tzinfo is None:
        raise TypeError("check_received_at needs times with a time zone")
    if received_at > now + FUTURE_LEEWAY:
        raise ReceivedInFuture(received_at, now)
