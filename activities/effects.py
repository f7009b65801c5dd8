"""One commit's side effects in one activity: the case's record, then each letter the commit
queued. A case's history then holds one activity a step instead of one for the record and one
for each letter, and the row is written first, so it never waits on a letter.

Each part is idempotent as on its own (`RecordsStore.record`, the letters ledger), so Temporal
may retry the activity freely. A letter that fails is not retried here: the outcome names it and
the workflow sends it alone, in rounds, marking the case while it keeps failing, as any letter.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.letters import LetterActivities
from activities.records import RecordActivities
from domain.records import RECORD_OUT_OF_STEP, EffectsOutcome, EffectsRequest
from letters.delivery import PermanentDeliveryError
from letters.render import LetterDataError


class EffectActivities:
    def __init__(self, records: RecordActivities, letters: LetterActivities) -> None:
        self.records = records
        self.letters = letters

    @activity.defn(name="perform_effects")
    def perform_effects(self, request: EffectsRequest) -> EffectsOutcome:
        outcome = EffectsOutcome()
        if request.record is not None:
            try:
                self.records.record_case(request.record)
            except ApplicationError as err:
                if err.type != RECORD_OUT_OF_STEP:
                    raise
                outcome.record_out_of_step = True
        for letter in request.letters:
            try:
                self.letters.send_letter(letter)
            except (PermanentDeliveryError, LetterDataError) as err:
                outcome.refused[letter.key] = str(err)
            except Exception as err:
                activity.logger.warning(
                    "Letter %s/%s failed (%s); the case sends it again alone",
                    letter.reference,
                    letter.key,
                    type(err).__name__,
                )
                outcome.failed[letter.key] = f"{type(err).__name__}: {err}"
        return outcome
