"""The letters of person records (domain/persons.py), which no case workflow owns:

- `PersonLetterWorkflow` sends one letter through the letters activity (`send_letter`, the
  ledger's exactly-once), retrying for as long as it takes. Its id is the person's reference and
  the letter's key (`domain.persons.person_letter_workflow_id`), so starting it twice, from the
  admin app and again from the daily reviews, is one workflow and one letter.
- `PersonReviewsWorkflow`, started each working morning by the `person-reviews` Schedule
  (worker/setup.py), asks one activity (`remind_person_reviews`, activities/persons.py) to start
  a `PersonLetterWorkflow` for each reminder due: every open item whose review date has come, to
  the owner of its review, once per (person, item, review date); and the resident's letter of
  any contact restriction not yet sent.

Deterministic, no I/O: everything is done by activities. `start_person_letter` is the client
side, for the admin app and the activity.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain.letters import LetterReceipt, LetterRequest
    from domain.persons import (
        PersonReviews,
        PersonReviewsDone,
        PersonReviewsRequest,
        person_letter_workflow_id,
    )

SCHEDULE_ID = "person-reviews"
LETTER_TIMEOUT = timedelta(seconds=45)
REVIEWS_TIMEOUT = timedelta(minutes=2)
# As a case's letters: for as long as it takes, backing off to every 10 minutes; a letter the
# provider refuses outright (or that cannot be made) fails the workflow, for operations to see;
# the next morning's reviews start it again once the details are put right.
LETTER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    non_retryable_error_types=["PermanentDeliveryError", "LetterDataError"],
)
REVIEWS_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
# The schedule gives each run this long (its execution timeout): tomorrow's run does it again.
REVIEWS_GIVE_UP_AFTER = timedelta(hours=10)


@workflow.defn
class PersonLetterWorkflow:
    @workflow.run
    async def run(self, letter: LetterRequest) -> LetterReceipt:
        return await workflow.execute_activity(
            "send_letter",
            letter,
            result_type=LetterReceipt,
            start_to_close_timeout=LETTER_TIMEOUT,
            retry_policy=LETTER_RETRY,
        )


@workflow.defn
class PersonReviewsWorkflow:
    @workflow.run
    async def run(self, reviews: PersonReviews) -> PersonReviewsDone:
        return await workflow.execute_activity(
            "remind_person_reviews",
            PersonReviewsRequest(day=reviews.day, at=workflow.now()),
            result_type=PersonReviewsDone,
            start_to_close_timeout=REVIEWS_TIMEOUT,
            retry_policy=REVIEWS_RETRY,
        )


async def start_person_letter(client: Client, letter: LetterRequest, task_queue: str) -> str:
    """Start the workflow that sends `letter` (idempotent: already running, or already done,
    is no second letter); its workflow id."""
    wid = person_letter_workflow_id(letter.reference, letter.key)
    with contextlib.suppress(WorkflowAlreadyStartedError):  # running, or done: one letter
        await client.start_workflow(
            PersonLetterWorkflow.run,
            letter,
            id=wid,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        )
    return wid
