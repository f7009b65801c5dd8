"""What a step's Update answers: where the case now stands, not the whole case.

Every Update's answer is kept in the case's history, so it is small: the stage, the status, the
owner, the next deadline, and the revision the step made. The whole case is the `status` Query,
or the records row once it shows that revision (`CaseSnapshot.revision`).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from domain.people import Compact


class StepResult(Compact):
    reference: str
    kind: str  # "complaint" or "enquiry"
    stage: str
    status: str
    owner_id: str | None = None
    next_deadline: datetime | None = None
    next_deadline_label: str | None = None
    overdue: bool = False
    revision: int = Field(ge=1)  # the case's commit this step made (CaseSnapshot.revision)
