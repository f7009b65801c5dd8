"""A resident follows their complaint online, on the real stack in a real browser: the stage 1
response letter in the outbox carries their personal link; it opens their page (where the case
stands, what happens next and by when, their letters), a letter reads back, and "Ask for stage
2" sends their request; Mo (manager) then sees the escalation on the case with the stage 2
clocks running, and revokes the link, after which it shows nothing, as a tampered link does.
axe-core checks each of the resident's pages; the README's screenshot of the resident's page is
written on the way.

Staff steps before the response go straight to Temporal (the staff forms have journeys of their
own); the letters and the records arrive a moment after each step, so they are waited for."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.async_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import outbox_letter, reload_until_visible, sign_in
from tests.support import CATEGORY, complaint, decided, start, step

WAIT = 15_000
LINK = re.compile(r"https?://[^\s\"<>]+/your-case/[A-Za-z0-9_.\-]+")
REASONS = "The boiler is still not fixed and nobody has called."
OUTCOME = "A firm date for the repair"


async def test_a_resident_follows_their_complaint_and_asks_for_stage_2_online(
    stack, new_page, screenshots
):
    client = stack.env.client
    case = complaint(datetime.now(UTC))
    ref = case.reference
    await start(client, case, stack.task_queue)
    points = case.points
    await step(client, ref, "accept", by="mo.manager", category=CATEGORY)
    await step(client, ref, "acknowledge", by="mo.manager", points=points, outcome_sought="Fix")
    await step(
        client,
        ref,
        "respond",
        by="mo.manager",
        decisions=[decided(p) for p in points],
        summary="We missed two appointments and did not call you back.",
        remedies={"apology": "We are sorry."},
    )
    letter = await outbox_letter(stack.outbox / ref, "s1_response")
    found = LINK.search(letter)
    assert found, "the stage 1 response carries the resident's link"
    link = found.group(0).rstrip(".")  # a sentence's full stop is not part of the link

    ann = await new_page()
    await ann.goto(link)
    await expect(ann.locator("h1")).to_have_text("We have sent our stage 1 response")
    await expect(ann.locator("#next-steps")).to_contain_text("(stage 2) by")
    await expect(ann.locator("#letters")).to_contain_text("Our response to your complaint")
    await assert_accessible(ann)
    await ann.set_viewport_size({"width": 1000, "height": 900})
    await ann.screenshot(path=screenshots / "resident.png", full_page=True)

    await ann.locator("#letters a").last.click()
    await expect(ann.locator("#letter-body")).to_be_visible()
    await assert_accessible(ann)
    await ann.go_back()

    await ann.get_by_role("button", name="Ask for stage 2").click()
    await expect(ann.locator("h1")).to_have_text("Ask for stage 2")
    await assert_accessible(ann)
    await ann.get_by_label("Why you are not satisfied with our response (optional)").fill(REASONS)
    await ann.get_by_label("What you would like us to do to put things right (optional)").fill(
        OUTCOME
    )
    await ann.get_by_role("button", name="Send my request").click()
    await expect(ann.locator("#sent")).to_contain_text("We have your request for stage 2")
    await assert_accessible(ann)

    mo = await new_page()
    await sign_in(mo, stack, "mo.manager")
    await mo.goto(f"{stack.base_url}/cases/{ref}")
    await reload_until_visible(mo, mo.locator("#timeline").get_by_text(f"Why: {REASONS}"))
    await expect(mo.locator("#timeline")).to_contain_text("resident (online)")
    deadlines = mo.locator("#deadlines-title + table, #deadlines-title ~ *").first
    await expect(deadlines).to_contain_text("Stage 2: formal acknowledgement")
    await expect(mo.locator("#link-used")).to_contain_text("Viewed")

    tampered = link[:-3] + ("xyz" if not link.endswith("xyz") else "abc")
    stranger = await new_page()
    await stranger.goto(tampered)
    await expect(stranger.locator("h1")).to_have_text("This link is not valid")
    await expect(stranger.locator("main")).not_to_contain_text(ref)
    await assert_accessible(stranger)

    await mo.get_by_role("button", name="Revoke the resident's link").click()
    await expect(mo.locator("#flash")).to_contain_text("The resident's link is revoked")
    await expect(mo.locator("#link-revoked")).to_be_visible()
    await ann.goto(link)
    await expect(ann.locator("h1")).to_have_text("This link is not valid")
    await expect(ann.locator("main")).not_to_contain_text(ref)
