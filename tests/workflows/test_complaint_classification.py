"""What reports count a complaint under (issue 10, part 1): its category, set at acceptance and
changeable until the response of the stage it is at; the complainant's tenure and the property;
each upheld point's root cause. Required where the case's policy has the lists; a case lodged
under a policy without them answers as it always did."""

from __future__ import annotations

from domain.complaint import Stage, Status, Tenure, workflow_id
from domain.policy import legacy_policy
from domain.records import PointOutcomeRow
from tests.support import CATEGORY, JO, SAM, decided, settle, step
from tests.workflows.test_complaint_steps import MONDAY, decisions, lodged, rejected, responded


async def acknowledged(env, settings, **overrides):
    """Accepted without a category (staff did not know it yet) and acknowledged."""
    case, handle = await lodged(env, settings, MONDAY, **overrides)
    await step(env.client, case.reference, "accept", by=JO.id)
    await step(
        env.client, case.reference, "acknowledge", by=JO.id, points=case.points, outcome_sought="x"
    )
    return case, handle


async def test_the_category_is_set_at_acceptance_and_changed_by_classify(
    env, worker, settings, store
):
    case, handle = await lodged(
        env, settings, MONDAY, tenure="social_rent", property_reference="WK/0042/7"
    )
    ref = case.reference
    accepted = await step(env.client, ref, "accept", by=JO.id, category="repairs")
    assert (accepted.category, accepted.tenure) == ("repairs", Tenure.social_rent)
    assert accepted.timeline[-1].summary == (
        "Accepted as a stage 1 complaint (category Repairs and maintenance)"
    )
    changed = await step(
        env.client, ref, "classify", by=JO.id, category="damp_and_mould", tenure="shared_ownership"
    )
    assert changed.category == "damp_and_mould" and changed.tenure is Tenure.shared_ownership
    assert changed.property_reference == "WK/0042/7", "what classify does not give is kept"
    assert changed.timeline[-1].summary == (
        "Classified: category Damp and mould, tenure Shared ownership (LCHO)"
    )
    await settle(handle)
    row = store.get_case(ref)
    assert (row.category, row.tenure, row.property_reference) == (
        "damp_and_mould",
        "shared_ownership",
        "WK/0042/7",
    )
    assert row.data["category"] == "damp_and_mould"


async def test_a_response_needs_the_category_and_each_upheld_points_root_cause(
    env, worker, settings, store
):
    case, handle = await acknowledged(env, settings)
    ref = case.reference
    reason = await rejected(
        env.client, ref, "respond", by=JO.id, decisions=decisions(case.points), summary="Sorry"
    )
    assert reason.startswith("The complaint has no category")
    assert "Record the category (the 'classify' step) first" in reason

    await step(env.client, ref, "classify", by=JO.id, category=CATEGORY)
    without_cause = [decided(case.points[0]), {**decided(case.points[1], "partly_upheld")}]
    del without_cause[1]["root_cause"]
    reason = await rejected(
        env.client, ref, "respond", by=JO.id, decisions=without_cause, summary="Sorry"
    )
    assert reason.startswith("Point 2 ('Nobody called back') is partly upheld: give its root cause")

    answered = [
        {**decided(case.points[0]), "root_cause": "contractor"},
        decided(case.points[1], "not_upheld"),
    ]
    s = await step(env.client, ref, "respond", by=JO.id, decisions=answered, summary="Sorry")
    assert s.status is Status.escalation_window
    assert [d.root_cause for d in s.decisions["stage1"]] == ["contractor", None]
    await settle(handle)
    assert store.point_outcomes(ref) == [
        PointOutcomeRow(stage=1, point_index=0, decision="upheld", root_cause="contractor"),
        PointOutcomeRow(stage=1, point_index=1, decision="not_upheld", root_cause=None),
    ]


async def test_classify_is_refused_once_the_stage_is_answered_and_open_again_at_stage_2(
    env, worker, settings, store
):
    case, handle = await acknowledged(env, settings)
    ref = case.reference
    await step(env.client, ref, "classify", by=JO.id, category="repairs")
    await step(
        env.client, ref, "respond", by=JO.id, decisions=decisions(case.points), summary="Sorry"
    )
    reason = await rejected(env.client, ref, "classify", by=JO.id, category="communication")
    assert reason.startswith(
        "'classify' is not possible while the case is at stage1 (escalation window)"
    )

    # the stage 2 reviewer may correct it before the final response; after it, nothing
    await step(env.client, ref, "escalate", by="ali.advisor", reviewer=SAM)
    s = await step(env.client, ref, "classify", by=SAM.id, category="communication")
    assert s.category == "communication"
    await step(env.client, ref, "acknowledge", by=SAM.id, points=case.points, outcome_sought="x")
    final = await step(
        env.client,
        ref,
        "respond",
        by=SAM.id,
        decisions=decisions(case.points, "partly_upheld"),
        summary="Final",
    )
    assert final.stage is Stage.closed
    assert final.allowed_steps == ["refer_to_ombudsman"], "closed: nothing to classify"
    await settle(handle)
    assert store.get_case(ref).category == "communication"
    assert [(o.stage, o.decision, o.root_cause) for o in store.point_outcomes(ref)] == [
        (1, "upheld", "delay"),
        (1, "upheld", "delay"),
        (2, "partly_upheld", "delay"),
        (2, "partly_upheld", "delay"),
    ]


async def test_a_case_lodged_under_a_policy_without_categories_answers_without_one(
    env, worker, settings, store
):
    case, handle = await acknowledged(env, settings, policy=legacy_policy())
    ref = case.reference
    reason = await rejected(env.client, ref, "classify", by=JO.id, category="repairs")
    assert "which has no list of categories" in reason
    plain = [{"point": p, "decision": "upheld", "reasons": "r"} for p in case.points]
    s = await step(env.client, ref, "respond", by=JO.id, decisions=plain, summary="Sorry")
    assert s.status is Status.escalation_window and s.category is None
    await settle(handle)
    assert store.get_case(ref).category is None
    assert [o.root_cause for o in store.point_outcomes(ref)] == [None, None]


async def test_new_issues_open_for_the_same_tenure_and_property_with_a_category_of_their_own(
    env, worker, settings, store
):
    case, _ = await responded(
        env, settings, tenure="leaseholder", property_reference="FLAT 3/KINGS COURT"
    )
    ref = case.reference
    await step(env.client, ref, "escalate", by="ali.advisor", reviewer=SAM)
    s = await step(env.client, ref, "raise_new_issues", by=SAM.id, points=["Fence damaged"])
    (new_ref,) = s.linked_references
    new = await settle(env.client.get_workflow_handle(workflow_id(new_ref)))
    assert (new.tenure, new.property_reference) == (Tenure.leaseholder, "FLAT 3/KINGS COURT")
    assert new.category is None, "accepting it sets its own"
    assert store.get_case(new_ref).tenure == "leaseholder"
