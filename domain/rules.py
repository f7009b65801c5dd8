"""What every step rule shares: how it refuses, and how it writes a date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.people import StaffMember


@dataclass(frozen=True)
class Reason:
    """One thing wrong with a step: the plain-English text staff see, and the step's field it is
    about when there is one (dotted, as pydantic locates it: "decisions.1.root_cause"), so a
    form can show it beside that field."""

    text: str
    field: str | None = None

    def as_detail(self) -> dict[str, str | None]:
        return {"text": self.text, "field": self.field}


class StepRefused(ValueError):
    """A step the policy does not allow now. The message is the plain-English reason staff see:
    what was wrong and what to do instead; a rule that finds several things wrong gives them all
    (`reasons`), so staff mend them in one go."""

    def __init__(self, reason: str | Reason | Sequence[Reason], field: str | None = None) -> None:
        if isinstance(reason, str):
            reasons = [Reason(reason, field)]
        elif isinstance(reason, Reason):
            reasons = [reason]
        else:
            reasons = list(reason)
        if not reasons or not all(r.text.strip() for r in reasons):
            raise ValueError("a refusal needs a reason")
        self.reasons = reasons
        self.reason = "\n".join(r.text for r in reasons)
        super().__init__(self.reason)


class Refusals:
    """What a rule finds wrong, gathered: `add` each, then `check` raises them all at once."""

    def __init__(self) -> None:
        self.reasons: list[Reason] = []

    def add(self, text: str, field: str | None = None) -> None:
        self.reasons.append(Reason(text, field))

    def take(self, refused: StepRefused) -> None:
        self.reasons.extend(refused.reasons)

    def check(self) -> None:
        if self.reasons:
            raise StepRefused(self.reasons)


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
