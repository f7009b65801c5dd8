"""The performance report from real cases: complaints and an enquiry driven through their clocks
by time skipping, recorded by the worker, then the printed report (`python -m starter report
promises --json`, reading the records database) checked against figures worked out by hand.

March 2027: Mon 1, Tue 2, Wed 3, Thu 4, Fri 5, Mon 8, Tue 9 (no bank holidays)."""

from __future__ import annotations

import json

from starter.__main__ import main
from tests.support import (
    CATEGORY,
    JO,
    complaint,
    decided,
    enquiry,
    enquiry_step,
    london,
    start,
    start_enquiry,
    step,
    travel_to,
)


async def test_the_printed_report_counts_what_the_cases_did(
    env, worker, settings, store, capsys, monkeypatch
):
    received = london(2027, 3, 1, 10)
    await travel_to(env, received)
    on_time = complaint(received, owner=JO.model_dump())
    late = complaint(received, owner=JO.model_dump())
    asked = enquiry(received, channel="help_email")
    for case in (on_time, late):
        await start(env.client, case, settings.task_queue)
    await start_enquiry(env.client, asked, settings.task_queue)

    # Tue 2 Mar: the first complaint is contacted and acknowledged (1 working day each), the
    # enquiry answered (1 working day: by the end of the next working day, met)
    await travel_to(env, london(2027, 3, 2, 11))
    ref = on_time.reference
    await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, ref, "record_contact", by=JO.id, notes="Called")
    await step(env.client, ref, "acknowledge", by=JO.id, points=on_time.points, outcome_sought="x")
    await enquiry_step(env.client, asked.reference, "reply", by=JO.id, message="Here it is.")

    # Fri 5 Mar: the second complaint's contact (due Thu 4) is late: 4 working days; it is then
    # withdrawn, which stops its acknowledgement clock (counted for nothing)
    await travel_to(env, london(2027, 3, 5, 11))
    await step(env.client, late.reference, "record_contact", by=JO.id, notes="Called at last")
    await step(env.client, late.reference, "withdraw", by=JO.id, reason="Sorted")

    # Tue 9 Mar: the first complaint's response, 5 working days after its acknowledgement
    await travel_to(env, london(2027, 3, 9, 11))
    decisions = [decided(p) for p in on_time.points]
    await step(env.client, ref, "respond", by=JO.id, decisions=decisions, summary="Sorry")

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    code = main(["report", "promises", "--from", "2027-03-01", "--to", "2027-03-31", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    assert (report["from"], report["to"]) == ("2027-03-01", "2027-03-31")
    by_id = {p["promise"]: p for p in report["promises"]}
    expected = {
        "s1_contact": (2, 1, 1, 50.0, 2.5),  # 1 and 4 working days
        "s1_acknowledgement": (1, 1, 0, 100.0, 1.0),
        "s1_response": (1, 1, 0, 100.0, 5.0),
        "enquiry_reply:help_email": (1, 1, 0, 100.0, 1.0),
        "s2_response": (0, 0, 0, None, None),
    }
    for promise, figures in expected.items():
        p = by_id[promise]
        got = (p["due"], p["met"], p["missed"], p["percent_met"], p["median_working_days"])
        assert got == figures, promise
    assert by_id["s1_contact"]["label"] == "Stage 1: contact the resident within 3 working days"
