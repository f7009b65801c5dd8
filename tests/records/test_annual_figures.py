"""The annual report's figures that the other tests do not count: compensation offered and paid,
actions done on time or late, post-complaint satisfaction ("we will monitor ... through
satisfaction surveys"), lessons and improvements, and the Ombudsman's determinations, orders and
requests for evidence. One complaint of 2027-28 (tests/records/test_annual_reports.py), with
what it led to added by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from domain.records import (
    ActionRow,
    CompensationOfferRow,
    CompensationPaymentRow,
    OmbudsmanOrderRow,
    OmbudsmanRequestRow,
    OmbudsmanRow,
    PointOutcomeRow,
    RecordRequest,
)
from domain.satisfaction import Rating
from records.annual_report import annual_report
from records.satisfaction import Reply, SatisfactionReplies
from records.store import RecordsStore
from tests.records.test_annual_reports import FINDINGS, a_year_of_complaints
from tests.records.test_store import snapshot
from tests.support import POLICY, create_staff, london

REF = "CMP-2027-AR01"


def led_to(store: RecordsStore) -> None:
    """The complaint again, newer: two actions (one done on time, one late), one open in the
    next year, £50 offered and £30 paid so far; the Ombudsman's order complied with late, and
    a request for evidence answered on time."""
    a_year_of_complaints(store, REF)
    store.record(
        RecordRequest(
            snapshot=snapshot(
                REF,
                stage="closed",
                status="closed",
                closure_reason="final_response",
                category="repairs",
                tenure="social_rent",
                received_at=london(2027, 4, 12, 10),
                point_outcomes=[
                    PointOutcomeRow(stage=1, point_index=0, decision="upheld", root_cause="delay")
                ],
                actions=[
                    ActionRow(
                        n=1,
                        stage=1,
                        action="Fix",
                        owner="Repairs",
                        due_on=date(2027, 5, 10),
                        done_on=date(2027, 5, 7),
                    ),
                    ActionRow(
                        n=2,
                        stage=1,
                        action="Call",
                        owner="Repairs",
                        due_on=date(2027, 5, 10),
                        done_on=date(2027, 5, 20),
                    ),
                    ActionRow(
                        n=3, stage=1, action="Survey", owner="Repairs", due_on=date(2028, 3, 1)
                    ),
                ],
                compensation_offers=[
                    CompensationOfferRow(
                        stage=1, amount=Decimal("50"), offered_on=date(2027, 4, 20)
                    )
                ],
                compensation_payments=[
                    CompensationPaymentRow(seq=1, amount=Decimal("30"), paid_on=date(2027, 5, 1))
                ],
                ombudsman=OmbudsmanRow(
                    ombudsman_reference="202712345",
                    referred_on=date(2027, 9, 1),
                    determination="maladministration",
                    determined_on=date(2028, 1, 10),
                    findings=FINDINGS,
                ),
                ombudsman_requests=[
                    OmbudsmanRequestRow(
                        n=1,
                        description="Repair log",
                        requested_on=date(2027, 9, 5),
                        due_on=date(2027, 9, 19),
                        sent_on=date(2027, 9, 15),
                    ),
                ],
                ombudsman_orders=[
                    OmbudsmanOrderRow(
                        n=1,
                        kind="order",
                        description="Pay £100",
                        made_on=date(2028, 1, 10),
                        due_on=date(2028, 2, 7),
                        complied_on=date(2028, 2, 14),
                    ),
                    OmbudsmanOrderRow(
                        n=2,
                        kind="recommendation",
                        description="Review",
                        made_on=date(2028, 1, 10),
                        due_on=date(2028, 4, 10),
                    ),
                ],
                updated_at=datetime.now(UTC),
            )
        )
    )


def test_what_the_complaints_led_to_is_counted_for_the_year(store: RecordsStore) -> None:
    create_staff(store)
    led_to(store)
    replies = SatisfactionReplies(store)
    replies.record(REF, "n" * 32, Reply(rating=Rating.fairly_satisfied), london(2027, 5, 2))

    report = annual_report(store, 2027, POLICY)
    r = report.remedies
    assert (r.compensation_offered, r.compensation_paid) == (Decimal("50.00"), Decimal("30.00"))
    assert r.complaints_with_compensation == 1
    assert (r.actions_due, r.actions_done_on_time, r.actions_done_late, r.actions_open) == (
        3,
        1,
        1,
        1,
    )
    s = report.satisfaction
    assert (s.replies, s.satisfied, s.satisfied_percent) == (1, 1, 100.0)
    assert {c.label: c.count for c in s.by_rating}["Fairly satisfied"] == 1
    learning = report.learning
    assert (learning.lessons, learning.improvements_done, learning.improvements_open) == (1, 1, 0)
    o = report.ombudsman
    assert o.referrals == 1
    assert [(c.key, c.count) for c in o.determinations] == [("maladministration", 1)]
    assert o.findings == [FINDINGS]
    assert {c.key: c.count for c in o.orders} == {"order": 1, "recommendation": 1}
    assert (o.orders_complied_on_time, o.orders_complied_late, o.orders_open) == (0, 1, 1)
    assert (o.evidence_requests, o.evidence_on_time) == (1, 1)

    # the year before holds none of it
    before = annual_report(store, 2026, POLICY)
    assert before.remedies.actions_due == 0 and before.satisfaction.replies == 0
    assert before.ombudsman.referrals == 0 and before.learning.lessons == 0
