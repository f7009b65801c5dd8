"""What every step rule shares: how it refuses, and how it writes a date."""

from __future__ import annotations

from datetime import date

from domain.people import StaffMember


class StepRefused(ValueError):
    """A step the policy does not allow now. The message is the plain-English reason staff see:
    what was wrong and what to do instead."""

    def __init__(self, reason: str) -> None:
        if not reason.strip():
            raise ValueError("a refusal needs a reason")
        super().__init__(reason)
        self.reason = reason


def check_take(owner: StaffMember | None, by: str, new_owner: StaffMember, take: bool) -> None:
    """Taking a case (`only_if_unowned`) is for oneself, and works only while nobody owns it: two
    people taking it at once get one owner and one refusal."""
    if not take:
        return
    if new_owner.id != by:
        raise StepRefused(
            f"Taking a case is for yourself: {by} cannot take it for {new_owner.name}. Ask a "
            "manager to assign it to someone else."
        )
    if owner is not None:
        raise StepRefused(
            f"{owner.name} has already taken this case, so it is theirs now. Ask a manager if it "
            "should change hands."
        )


def day_text(day: date) -> str:
    return f"{day:%a %d %b %Y}"
