"""What every step rule shares: how it refuses, and how it writes a date."""

from __future__ import annotations

from datetime import date


class StepRefused(ValueError):
    """A step the policy does not allow now. The message is the plain-English reason staff see:
    what was wrong and what to do instead."""

    def __init__(self, reason: str) -> None:
        if not reason.strip():
            raise ValueError("a refusal needs a reason")
        super().__init__(reason)
        self.reason = reason


def day_text(day: date) -> str:
    return f"{day:%a %d %b %Y}"
