"""What a case keeps in its workflow history (issue 14: lean histories). A case begun on this code
plans its clocks itself (on the bank holidays it was lodged with; any other year's loaded by an
activity when first needed), performs each commit's
record and letters in one activity, sends its record as changes, keeps its alarm timer while the
alarm stays put, and upserts only the search attributes that changed."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle

from config import Settings
from domain.clocks import ClockKey
from domain.complaint import workflow_id
from records.schema import Case
from records.store import RecordsStore
from tests.support import (
    CATEGORY,
    JO,
    POLICY,
    complaint,
    decided,
    london,
    settle,
    start,
    step,
    travel_to,
)
from workflows.case import GENERATION
from workflows.cases import lodge

MONDAY = london(2027, 3, 1, 10)
SCHEDULED = EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED


async def events(handle: WorkflowHandle) -> list:
    return list((await handle.fetch_history()).events)


def activities(found: list) -> list[str]:
    return [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in found
        if e.event_type == SCHEDULED
    ]


def markers(found: list) -> list[str]:
    return [
        e.marker_recorded_event_attributes.marker_name
        for e in found
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
    ]


async def test_a_new_case_runs_one_activity_a_commit_and_one_patch_marker(
    env, worker, settings: Settings
):
    await travel_to(env, MONDAY)
    case = complaint(MONDAY, channel="online_form")  # a receipt letter at once
    handle = await start(env.client, case, settings.task_queue)
    await step(env.client, case.reference, "accept", by=JO.id, category=CATEGORY)
    found = await events(handle)
    # the record and the receipt in one activity, then the step's record: no plan_deadlines,
    # no activity for a record or a letter alone
    assert activities(found) == ["perform_effects", "perform_effects"]
    # one patch marker, for the generation: the clocks are planned on the bank holidays the case
    # was lodged with (no local activity: see test_a_case_lodged_without_bank_holidays_loads_them)
    assert markers(found) == ["core_patch"]
    patch = next(e for e in found if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED and
                 e.marker_recorded_event_attributes.marker_name == "core_patch")  # fmt: skip
    assert GENERATION.encode() in patch.SerializeToString()


async def test_a_deadline_years_ahead_loads_that_years_bank_holidays(
    env, worker, settings: Settings
):
    """Holidays are loaded for the years around lodging; an action due in a later year loads
    that year's, so its due day still skips a bank holiday (Christmas Day 2031, a Thursday)."""
    await travel_to(env, MONDAY)
    case = complaint(MONDAY)
    handle = await start(env.client, case, settings.task_queue)
    ref = case.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "acknowledge", by=JO.id, points=case.points, outcome_sought="x")
    action = {"action": "Replace the boiler", "owner": "Repairs", "due": "2031-12-25"}
    s = await step(
        env.client, ref, "respond", by=JO.id, summary="Sorry",
        decisions=[decided(p) for p in case.points], remedies={"actions": [action]},
    )  # fmt: skip
    (clock,) = [c for c in s.clocks if c.key is ClockKey.remedy_action]
    assert clock.due_day == date(2031, 12, 24)
    found = await events(handle)
    assert activities(found).count("bank_holidays") == 1  # 2031's, and only when needed
    assert "core_local_activity" not in markers(found)
    assert b"holidays-by-activity" in b"".join(e.SerializeToString() for e in found)


async def test_a_case_lodged_without_bank_holidays_loads_them_once_by_activity(
    env, worker, settings: Settings
):
    """A case started with no bank holidays (a client from before lodge_once stamped them) loads
    the years around its receipt in one activity, never a local activity (which stalled cases
    on a worker keeping none in memory), and plans its clocks as a stamped case does."""
    await travel_to(env, MONDAY)
    stamped = complaint(MONDAY)
    await start(env.client, stamped, settings.task_queue)
    bare = complaint(MONDAY)
    await lodge(env.client, bare.model_copy(update={"policy": POLICY}), settings.task_queue)
    handle = env.client.get_workflow_handle(workflow_id(bare.reference))
    await settle(handle)
    ours = await step(env.client, bare.reference, "accept", by=JO.id, category=CATEGORY)
    theirs = await step(env.client, stamped.reference, "accept", by=JO.id, category=CATEGORY)
    assert [(c.key, c.due) for c in ours.clocks] == [(c.key, c.due) for c in theirs.clocks]
    found = await events(handle)
    assert activities(found).count("bank_holidays") == 1
    assert "core_local_activity" not in markers(found)


async def test_a_step_that_leaves_the_alarm_where_it_was_starts_no_timer(
    env, worker, settings: Settings
):
    await travel_to(env, MONDAY)
    case = complaint(MONDAY)
    handle = await start(env.client, case, settings.task_queue)
    ref = case.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    before = await events(handle)
    await step(env.client, ref, "assign", by="manager", owner=JO)  # the owner changes, no clock
    after = (await events(handle))[len(before) :]
    kinds = [e.event_type for e in after]
    assert EventType.EVENT_TYPE_TIMER_STARTED not in kinds
    assert EventType.EVENT_TYPE_TIMER_CANCELED not in kinds
    (upsert,) = [
        e for e in after if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    fields = upsert.upsert_workflow_search_attributes_event_attributes.search_attributes
    assert set(fields.indexed_fields) == {"CaseOwner"}  # only what changed


async def test_a_row_written_before_revisions_is_recorded_whole(
    env, worker, settings: Settings, store: RecordsStore
):
    """A case whose row was written by code before records counted revisions: its next commit's
    changes are refused by the store, and the workflow sends its whole record instead."""
    await travel_to(env, MONDAY)
    case = complaint(MONDAY)
    await start(env.client, case, settings.task_queue)
    ref = case.reference
    with store.engine.begin() as connection:
        connection.execute(update(Case).where(Case.reference == ref).values(revision=None))
    s = await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    row = store.get_case(ref)
    assert row is not None and row.revision == 2
    assert (row.stage, row.status) == (s.stage.value, s.status.value)
    assert [e.step for e in store.events(ref)] == ["lodged", "accept"]
    handle = env.client.get_workflow_handle(workflow_id(ref))
    assert activities(await events(handle)).count("record_case") == 1  # the whole record
