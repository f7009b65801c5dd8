"""An enquiry's journey through the real stack, in a real browser: Ali (advisor) logs an email to
the help address from the staff form, finds it in the enquiries queue, replies by email from
the enquiry page, and sees it closed with its clock met and the reply sent. Along the way it
writes the README's screenshot of an enquiry page."""

from __future__ import annotations

import re

from playwright.async_api import expect

from tests.browser.conftest import reload_until_visible, sign_in

WAIT = 15_000  # ms, for Playwright's auto-waiting assertions
MESSAGE = "Please can you tell me when my rent is due over Christmas?"
REPLY = "Your rent is due on the usual day; nothing changes over Christmas."


async def test_an_enquiry_logged_by_staff_is_answered_by_email(stack, new_page, screenshots):
    page = await new_page()
    await sign_in(page, stack, "ali.advisor")

    # ---- log it: an empty form first names what is missing
    await page.get_by_role("link", name="Log an enquiry").click()
    await expect(page.get_by_role("heading", name="Log an enquiry")).to_be_visible()
    await page.get_by_role("button", name="Log the enquiry").click()
    summary = page.locator("#error-summary")
    for problem in (
        "Enter the name of the person getting in touch",
        "Choose how the resident got in touch",
    ):
        await expect(summary.get_by_role("link", name=problem)).to_be_visible()

    channel = page.get_by_role("group", name="How the resident got in touch")
    await channel.get_by_label("Email to the help address").check()
    await page.get_by_label("Full name").fill("Eli Enquirer")
    await page.get_by_label("Email address (optional)").fill("eli@example.org")
    await page.get_by_label("Subject").fill("Rent over Christmas")
    await page.get_by_label("Their message").fill(MESSAGE)
    await page.get_by_role("button", name="Log the enquiry").click()

    heading = page.get_by_role("heading", name=re.compile(r"^Enquiry ENQ-"))
    await expect(heading).to_be_visible(timeout=WAIT)
    ref = (await heading.inner_text()).removeprefix("Enquiry ").strip()
    await expect(page.locator("#flash")).to_contain_text(f"Enquiry {ref} logged")
    await expect(page.locator("#message")).to_have_text(MESSAGE)
    await expect(page.locator("#policy")).to_contain_text("version")
    # the workflow works the deadline out a moment after it starts
    await reload_until_visible(page, page.locator("#deadlines", has_text="Reply to the enquiry"))

    # ---- it is in the enquiries queue, linked to its page
    await page.get_by_role("link", name="Enquiries", exact=True).click()
    row = page.locator(f'tr[data-reference="{ref}"]')
    await reload_until_visible(page, row, timeout=60)  # the records DB lags the workflow a little
    await expect(row).to_contain_text("Reply")
    await row.get_by_role("link", name=ref).click()
    await expect(heading).to_be_visible()

    # ---- reply by email: it closes, the clock is met, the reply goes
    form = page.locator("#step-reply")
    await expect(form).to_be_visible()
    # the top of the enquiry page, for the README
    await page.screenshot(
        path=screenshots / "enquiry.png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 1500},
    )
    png = screenshots / "enquiry.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    await form.get_by_label("Your reply").fill(REPLY)
    await (
        form.get_by_role("group", name="How the reply goes")
        .get_by_label("Email (we send it)")
        .check()
    )
    await expect(form.get_by_label("This answers the enquiry: close it")).to_be_checked()
    await page.get_by_role("button", name="Send or record the reply").click()
    await expect(page.locator("#flash")).to_contain_text(
        "Replied by email. The enquiry is closed", timeout=WAIT
    )
    await expect(page.locator("#enquiry-state")).to_have_text("Closed")
    await expect(page.locator("#deadlines")).to_contain_text("Met")
    await expect(page.locator("#step-reply")).to_have_count(0)
    sent = page.locator("#timeline tbody tr").filter(has_text="Letter:").filter(has_text="Sent")
    await reload_until_visible(page, sent.nth(1))  # the automatic confirmation, then the reply
    await expect(sent).to_have_count(2)
