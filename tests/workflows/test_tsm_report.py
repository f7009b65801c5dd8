"""The Tenant Satisfaction Measures CH01 and CH02 from real cases: complaints from tenants of
both stocks driven through time skipping (on time, late, extended, exceptionally extended,
escalated, withdrawn, declined), recorded by the worker, then the printed report (`python -m
starter report tsm --year 2027 --json`) checked against the figures worked out by hand.

April 2027: Mon 12, Tue 13 ... Fri 16, Mon 19 ... Mon 26, Tue 27, Wed 28, Thu 29, Fri 30; Mon 3 May
is a bank holiday. A stage 1 response is due 10 working days after the acknowledgement's receipt
day: acknowledged Mon 12 Apr, due Mon 26 Apr."""

from __future__ import annotations

import json
from datetime import date

from starter.__main__ import main
from tests.support import (
    ALI,
    CATEGORY,
    JO,
    SAM,
    complaint,
    decided,
    london,
    start,
    step,
    travel_to,
)

LCRA, LCHO = "social_rent", "shared_ownership"


async def test_ch01_and_ch02_count_what_the_cases_did(
    env, worker, settings, store, capsys, monkeypatch
):
    received = london(2027, 4, 12, 10)
    await travel_to(env, received)

    async def lodged(tenure: str) -> str:
        case = complaint(received, owner=JO.model_dump(), tenure=tenure)
        await start(env.client, case, settings.task_queue)
        return case.reference

    async def acknowledged(tenure: str) -> str:
        ref = await lodged(tenure)
        await step(env.client, ref, "accept", by=JO.id, category=CATEGORY)
        await step(env.client, ref, "record_contact", by=JO.id, notes="Called")
        await step(env.client, ref, "acknowledge", by=JO.id, points=["p"], outcome_sought="x")
        return ref

    async def respond(ref: str, by: str = JO.id) -> None:
        await step(env.client, ref, "respond", by=by, decisions=[decided("p")], summary="Sorry")

    on_time = await acknowledged(LCRA)
    late = await acknowledged(LCRA)
    extended = await acknowledged(LCRA)
    await step(
        env.client,
        extended,
        "extend",
        by=JO.id,
        reasons="Contractor's report",
        working_days=5,
        discussed_with_resident=True,
    )  # fmt: skip  (due Tue 4 May: Mon 3 May is a bank holiday)
    declined = await lodged(LCRA)
    await step(
        env.client, declined, "decline", by=JO.id, reason="legal_proceedings", explanation="Court"
    )
    withdrawn = await lodged(LCRA)
    await step(env.client, withdrawn, "accept", by=JO.id, category=CATEGORY)
    await step(env.client, withdrawn, "withdraw", by=JO.id, reason="Sorted")
    exceptional = await acknowledged(LCHO)
    for extension in (
        {"working_days": 10, "discussed_with_resident": True},
        {"exceptional": True, "resident_agreed": True, "agreed_date": date(2027, 5, 28)},
    ):
        await step(env.client, exceptional, "extend", by=JO.id, reasons="Survey", **extension)
    escalated = await acknowledged(LCHO)
    not_a_tenant = await acknowledged("leaseholder")

    await travel_to(env, london(2027, 4, 20, 11))
    for ref in (on_time, escalated, not_a_tenant):
        await respond(ref)
    await step(env.client, escalated, "escalate", by=ALI.id, reviewer=SAM)
    await step(env.client, escalated, "record_contact", by=SAM.id, notes="Called")
    await step(env.client, escalated, "acknowledge", by=SAM.id, points=["p"], outcome_sought="x")

    await travel_to(env, london(2027, 4, 28, 11))  # two days after Mon 26 Apr: late
    await respond(late)
    await respond(extended)  # within its extension
    await respond(escalated, by=SAM.id)  # stage 2: on time

    await travel_to(env, london(2027, 5, 25, 11))
    await respond(exceptional)  # by the date agreed: still outside the Code's timescales

    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    code = main(["report", "tsm", "--year", "2027", "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    report = json.loads(out)
    assert (report["year"], report["from"], report["to"]) == ("2027-28", "2027-04-01", "2028-03-31")
    # CH01: received (declined left out, withdrawn counted; the leaseholder in neither stock)
    assert report["CH01"]["LCRA"] == {
        "stage1": 4,  # on time, late, extended, withdrawn
        "stage2": 0,
        "homes": 6200,
        "stage1_per_1000": 0.65,  # 4 / 6,200 x 1,000 = 0.645...
        "stage2_per_1000": 0.0,
    }
    assert report["CH01"]["LCHO"] == {
        "stage1": 2,
        "stage2": 1,
        "homes": 800,
        "stage1_per_1000": 2.5,
        "stage2_per_1000": 1.25,
    }
    # CH02: responded to, and within the Code's timescales
    assert report["CH02"]["LCRA"]["stage1"] == {
        "responded": 3,
        "within": 2,  # on time, and extended within the standard extension; not the late one
        "exceptional": 0,
        "percent": 66.7,
    }
    assert report["CH02"]["LCHO"]["stage1"] == {
        "responded": 2,
        "within": 1,
        "exceptional": 1,  # on its own line, outside the timescales
        "percent": 50.0,
    }
    assert report["CH02"]["LCHO"]["stage2"] == {
        "responded": 1,
        "within": 1,
        "exceptional": 0,
        "percent": 100.0,
    }
    assert report["CH02"]["LCRA"]["stage2"]["percent"] is None
    assert any(
        "Declined complaints and service requests are left out" in r for r in report["rules"]
    )

    # The same cases in the annual report's figures (all tenures)
    assert main(["report", "annual", "--year", "2027", "--json"]) == 0
    annual = json.loads(capsys.readouterr().out)
    volumes = annual["volumes"]
    # received: all but the declined one (the leaseholder counts here)
    assert (volumes["stage1"], volumes["stage2"]) == (7, 1)
    assert (volumes["withdrawn"], volumes["declined"], volumes["service_requests"]) == (1, 1, 0)
    assert [(c["key"], c["count"]) for c in volumes["refused_by_reason"]] == [
        ("legal_proceedings", 1)
    ]
    assert [(c["key"], c["count"]) for c in volumes["by_category"]] == [(CATEGORY, 7)]
    assert {c["key"]: c["count"] for c in volumes["by_tenure"]} == {
        LCRA: 4,
        LCHO: 2,
        "leaseholder": 1,
    }
    stage1, stage2 = annual["outcomes"]
    assert (stage1["complaints"], stage1["upheld_in_whole_or_part"]) == (6, 6)
    assert [(c["key"], c["count"]) for c in stage1["points"]] == [("upheld", 6)]
    assert (stage2["complaints"], stage2["upheld_in_whole_or_part"]) == (1, 1)
    assert [(c["key"], c["count"]) for c in annual["root_causes"]] == [("delay", 7)]
    timely = {p["promise"]: (p["met"], p["due"]) for p in annual["timeliness"]}
    assert timely["s1_response"] == (5, 6), "the late one missed; extended ones met their date"

    # ... and every case here fell in the year's first quarter: the quarterly pack says the same
    assert main(["report", "quarterly", "--year", "2027", "--quarter", "1", "--json"]) == 0
    quarter = json.loads(capsys.readouterr().out)
    assert quarter["year"] == "2027-28 Q1"
    assert (quarter["start"], quarter["end"]) == ("2027-04-01", "2027-06-30")
    assert {k: v for k, v in quarter.items() if k not in ("year", "start", "end")} == {
        k: v for k, v in annual.items() if k not in ("year", "start", "end")
    }
    assert main(["report", "quarterly", "--year", "2027", "--quarter", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["volumes"]["stage1"] == 0
