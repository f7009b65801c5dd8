"""Every search attribute the project uses, in one place. None carries personal data: operations
see stage, status, the next deadline, whether a clock is missed, and the staff owner's id."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CASE_TYPE = SearchAttributeKey.for_keyword("CaseType")
CASE_STAGE = SearchAttributeKey.for_keyword("CaseStage")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
CASE_OWNER = SearchAttributeKey.for_keyword("CaseOwner")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("NextDeadline")
NEXT_DEADLINE_KEY = SearchAttributeKey.for_keyword("NextDeadlineKey")  # which clock (ClockKey)
OVERDUE = SearchAttributeKey.for_bool("Overdue")
LETTER_FAILING = SearchAttributeKey.for_bool("LetterFailing")  # a letter is still being retried

ALL = (
    CASE_TYPE,
    CASE_STAGE,
    CASE_STATUS,
    CASE_OWNER,
    NEXT_DEADLINE,
    NEXT_DEADLINE_KEY,
    OVERDUE,
    LETTER_FAILING,
)


def cli_flags() -> list[str]:
    """`temporal server start-dev --search-attribute Name=Type ...` for every key."""
    flags: list[str] = []
    for key in ALL:
        flags += ["--search-attribute", f"{key.name}={key.indexed_value_type.name.title()}"]
    return flags
