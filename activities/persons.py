"""The person records' daily reviews (workflows/persons.py `PersonReviewsWorkflow`): start the
letter of each reminder due and of each contact restriction whose letter has not gone.

Idempotent: a letter the ledger has sent is not started again, and each letter's workflow id is
deterministic (its person and key), so running this twice in a day, or again after a failure,
starts each letter once and sends it once. A reminder is keyed by (person, item, review date):
recording the next review date makes the next reminder.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, date

from temporalio import activity
from temporalio.client import Client

from config import Settings
from domain.letters import LetterRequest
from domain.persons import LONDON, PersonReviewsDone, PersonReviewsRequest
from records.persons import PersonRecords
from records.store import RecordsStore
from workflows.persons import start_person_letter


class PersonActivities:
    def __init__(self, client: Client, settings: Settings, store: RecordsStore) -> None:
        self.client = client
        self.settings = settings
        self.store = store

    @activity.defn(name="remind_person_reviews")
    async def remind_person_reviews(self, request: PersonReviewsRequest) -> PersonReviewsDone:
        day = request.day or request.at.astimezone(UTC).astimezone(LONDON).date()
        letters, due = await asyncio.to_thread(self._letters_due, day)
        started = [
            await start_person_letter(self.client, letter, self.settings.task_queue)
            for letter in letters
        ]
        activity.logger.info(
            "Person reviews for %s: %d due, %d letters started", day, due, len(started)
        )
        return PersonReviewsDone(day=day, due=due, started=started)

    def _letters_due(self, day: date) -> tuple[list[LetterRequest], int]:
        people = PersonRecords(self.store)
        team = self.settings.policy.teams.resolution.name
        due = people.due_reviews(day)
        wanted = [people.review_reminder(d, team) for d in due]
        wanted += people.unsent_restriction_letters()
        letters = []
        for letter in wanted:
            sent = self.store.get_letter(letter.reference, letter.key)
            if sent is None or not sent.sent:
                letters.append(letter)
        return letters, len(due)
