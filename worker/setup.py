"""Set up a Temporal namespace: register the search attributes (`make run`'s dev server registers
them with --search-attribute flags; tests and production clusters use this), and create the
daily sweep's, the person reviews' and the retention job's Schedules (the worker does at every
start)."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from domain.persons import PersonReviews
from domain.retention import RetentionSweep
from domain.sweep import DailySweep
from workflows import persons, retention
from workflows.search_attributes import ALL
from workflows.sweep import SCHEDULE_ID, DailySweepWorkflow

SWEEP_CRON = "0 7 * * 1-5"  # 07:00 Monday to Friday; the workflow skips bank holidays
SWEEP_TIME_ZONE = "Europe/London"


async def register_search_attributes(client: Client) -> list[str]:
    """Add any of ours the namespace lacks; returns the names added (idempotent)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as err:  # the time-skipping test server cannot list, only add
        if err.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {key.name: key.indexed_value_type for key in ALL if key.name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def daily_sweep_schedule(settings: Settings) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            DailySweepWorkflow.run,
            DailySweep(),
            id=SCHEDULE_ID,  # each run's id is this plus the scheduled time
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[SWEEP_CRON], time_zone_name=SWEEP_TIME_ZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_daily_sweep_schedule(client: Client, settings: Settings) -> bool:
    """Create the `daily-sweep` Schedule unless it exists; True if it was created. An existing
    schedule is left as it is (change it with `temporal schedule update`, or delete it and
    restart the worker)."""
    try:
        await client.create_schedule(SCHEDULE_ID, daily_sweep_schedule(settings))
    except ScheduleAlreadyRunningError:
        return False
    return True


def person_reviews_schedule(settings: Settings) -> Schedule:
    """The person records' reviews (workflows/persons.py): working mornings at the sweep's time."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            persons.PersonReviewsWorkflow.run,
            PersonReviews(),
            id=persons.SCHEDULE_ID,
            task_queue=settings.task_queue,
            execution_timeout=persons.REVIEWS_GIVE_UP_AFTER,
        ),
        spec=ScheduleSpec(cron_expressions=[SWEEP_CRON], time_zone_name=SWEEP_TIME_ZONE),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_person_reviews_schedule(client: Client, settings: Settings) -> bool:
    """Create the `person-reviews` Schedule unless it exists; True if it was created."""
    try:
        await client.create_schedule(persons.SCHEDULE_ID, person_reviews_schedule(settings))
    except ScheduleAlreadyRunningError:
        return False
    return True


RETENTION_CRON = "30 1 * * *"  # 01:30 every night, in the landlord's time zone


def retention_schedule(settings: Settings) -> Schedule:
    """The retention job (workflows/retention.py): every night, in the policy's time zone."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            retention.RetentionWorkflow.run,
            RetentionSweep(),
            id=retention.SCHEDULE_ID,
            task_queue=settings.task_queue,
            execution_timeout=retention.GIVE_UP_AFTER,
        ),
        spec=ScheduleSpec(
            cron_expressions=[RETENTION_CRON],
            time_zone_name=settings.policy.calendar.timezone,
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )


async def ensure_retention_schedule(client: Client, settings: Settings) -> bool:
    """Create the `retention` Schedule unless it exists; True if it was created."""
    try:
        await client.create_schedule(retention.SCHEDULE_ID, retention_schedule(settings))
    except ScheduleAlreadyRunningError:
        return False
    return True
