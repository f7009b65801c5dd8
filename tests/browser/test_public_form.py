"""The residents' complaint form in a real browser (issue 12, part 3): GOV.UK-size radios, the
third-party reveal's name box wide enough for a name, character counts that show each limit
before sending, date inputs, and a "check your answers" page whose Change buttons go back with
every answer kept and whose Send button lodges the complaint (its receipt reaches the outbox).
axe-core checks every page on the way."""

from __future__ import annotations

import re

from playwright.async_api import Locator, Page, expect
from temporalio.service import RPCError, RPCStatusCode

from domain.complaint import workflow_id
from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import outbox_letter
from workflows.cases import new_complaint_reference

WAIT = 15_000
REFERENCE = re.compile(r"^CMP-[0-9A-Z]{4}-[0-9A-Z]{4}$")
NAME = "Sam Helper"
EMAIL = "sam.helper@example.org"
FOR = "Rita Resident"
DESCRIPTION = "My mother's boiler has been broken since March.\nTwo repair visits were missed."
POINT = "The repair visits were missed twice"
OUTCOME = "Fix the boiler"


async def text_width(box: Locator, text: str) -> float:
    """How wide `text` is in the box's own font, in CSS pixels."""
    return await box.evaluate(
        """(el, text) => {
            const style = getComputedStyle(el);
            const context = document.createElement("canvas").getContext("2d");
            context.font = `${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
            return context.measureText(text).width;
        }""",
        text,
    )


async def inner_width(box: Locator) -> float:
    """The box's width for text: its bounding box less its borders and padding."""
    outer = await box.bounding_box()
    assert outer is not None
    sides = await box.evaluate(
        """el => { const s = getComputedStyle(el);
            return ["borderLeftWidth", "borderRightWidth", "paddingLeft", "paddingRight"]
                .reduce((sum, side) => sum + parseFloat(s[side]), 0); }"""
    )
    return outer["width"] - sides


async def lodged(stack, reference: str) -> bool:
    """Whether a complaint with this reference has been started."""
    try:
        await stack.env.client.get_workflow_handle(workflow_id(reference)).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


def answers(page: Page) -> Locator:
    return page.locator(".summary-list__row")


async def answer_to(page: Page, question: str) -> str:
    row = answers(page).filter(
        has=page.locator("dt", has_text=re.compile(f"^{re.escape(question)}$"))
    )
    await expect(row).to_have_count(1)
    return (await row.locator(".summary-list__value").inner_text()).strip()


async def test_the_name_of_someone_complained_for_fits_20_characters(stack, new_page):
    """The radios' size rule once hit the text box in the third-party reveal (24 x 24 px)."""
    for width in (1024, 375):
        page = await new_page()
        await page.set_viewport_size({"width": width, "height": 900})
        await page.goto(f"{stack.base_url}/complain")
        who = page.get_by_role("group", name="Who is making the complaint?")
        third_party = who.get_by_label("I am complaining for someone else, with their permission")
        radio = await third_party.bounding_box()
        assert radio is not None and radio["width"] >= 39 and radio["height"] >= 39, radio
        await third_party.check()
        name = page.get_by_label("Name of the person you are complaining for")
        await expect(name).to_be_visible()
        assert await inner_width(name) >= await text_width(name, "0" * 20), width
        box = await name.bounding_box()
        assert box is not None and box["height"] > 30, box
        consent = page.get_by_label(re.compile("They have given permission"))
        tick = await consent.bounding_box()
        assert tick is not None and tick["width"] >= 39 and tick["height"] >= 39, tick
        await assert_accessible(page)


async def test_limits_show_before_sending_and_count_down(stack, browser, new_page):
    # the server says each limit, so it shows without the script too
    without_script = await browser.new_context(java_script_enabled=False, locale="en-GB")
    try:
        bare = await without_script.new_page()
        await bare.goto(f"{stack.base_url}/complain")
        for box, limit in (("name", "200"), ("description", "20,000"), ("point_1", "5,000")):
            info = bare.locator(f"#{box}-info")
            await expect(info).to_have_text(f"You can enter up to {limit} characters")
        await expect(bare.get_by_label("Your full name")).to_have_accessible_description(
            "You can enter up to 200 characters"
        )
    finally:
        await without_script.close()

    page = await new_page()
    await page.goto(f"{stack.base_url}/complain")
    name = page.get_by_label("Your full name")
    description = page.get_by_label("What is your complaint about?")
    # no maxlength stops the typing: the resident sees the overrun
    for box in (name, description):
        assert await box.get_attribute("maxlength") is None
    await expect(page.locator("#name-info")).to_have_text("You have 200 characters remaining")

    await name.fill("x" * 201)
    await expect(page.locator("#name-info")).to_have_text("You have 1 character too many")
    await expect(page.locator("#name-info")).to_have_class(re.compile("--over"))
    # screen readers hear it from the live region once typing pauses
    status = page.locator("#name-info ~ [aria-live=polite]")
    await expect(status).to_have_text("You have 1 character too many")
    await name.fill(NAME)
    await expect(page.locator("#name-info")).to_have_text(
        f"You have {200 - len(NAME)} characters remaining"
    )
    await description.fill("Line one\nLine two")  # a new line is sent as two characters
    await expect(page.locator("#description-info")).to_have_text(
        "You have 19,982 characters remaining"
    )
    await assert_accessible(page)


async def fill_in(page: Page) -> None:
    await page.get_by_label("Your full name").fill(NAME)
    await page.get_by_label("Email address", exact=True).fill(EMAIL)
    contact = page.get_by_role("group", name="How would you like us to contact you?")
    await contact.get_by_label("Email", exact=True).check()
    who = page.get_by_role("group", name="Who is making the complaint?")
    await who.get_by_label("I am complaining for someone else, with their permission").check()
    await page.get_by_label("Name of the person you are complaining for").fill(FOR)
    await page.get_by_label(re.compile("They have given permission")).check()
    await page.get_by_label("What is your complaint about?").fill(DESCRIPTION)
    await page.get_by_label("Point 1", exact=True).fill(POINT)
    await page.get_by_label("What would you like us to do to put it right? (optional)").fill(
        OUTCOME
    )
    when = page.get_by_role("group", name="When did it happen? (optional)")
    for box, typed in (("Day", "2"), ("Month", "3"), ("Year", "2026")):
        await when.get_by_label(box, exact=True).fill(typed)


async def test_check_your_answers_then_change_one_then_send(stack, new_page):
    page = await new_page()
    await page.goto(f"{stack.base_url}/complain")
    await assert_accessible(page)
    await fill_in(page)
    await page.get_by_role("button", name="Continue").click()

    # ---- the check page: what was typed, and nothing else
    heading = page.get_by_role("heading", level=1)
    await expect(heading).to_have_text("Check your answers before sending your complaint")
    await assert_accessible(page)
    assert await answer_to(page, "Your full name") == NAME
    assert await answer_to(page, "Email address") == EMAIL
    assert await answer_to(page, "How would you like us to contact you?") == "Email"
    assert await answer_to(page, "Name of the person you are complaining for") == FOR
    assert await answer_to(page, "What is your complaint about?") == DESCRIPTION
    assert await answer_to(page, "Point 1") == POINT
    assert await answer_to(page, "What would you like us to do to put it right?") == OUTCOME
    assert await answer_to(page, "When did it happen?") == "2 March 2026"
    questions = await page.locator(".summary-list__key").all_inner_texts()
    for untouched in ("Phone number", "Postal address", "Point 2", "When did you find out"):
        assert not any(q.startswith(untouched) for q in questions), questions
    token = await page.locator('input[name="submission"]').get_attribute("value")
    reference = new_complaint_reference(token)  # the reference the form's token lodges as
    assert not await lodged(stack, reference), "nothing is lodged before Send"

    # ---- Change goes back to the form with every answer kept
    await page.get_by_role("button", name="Change your full name").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Make a complaint")
    await assert_accessible(page)
    await expect(page.get_by_label("Your full name")).to_have_value(NAME)
    await expect(page.get_by_label("Email address", exact=True)).to_have_value(EMAIL)
    await expect(page.get_by_label("Name of the person you are complaining for")).to_have_value(FOR)
    await expect(page.get_by_label(re.compile("They have given permission"))).to_be_checked()
    await expect(page.get_by_label("What is your complaint about?")).to_have_value(DESCRIPTION)
    await expect(page.get_by_label("Point 1", exact=True)).to_have_value(POINT)
    when = page.get_by_role("group", name="When did it happen? (optional)")
    await expect(when.get_by_label("Month", exact=True)).to_have_value("3")
    await page.get_by_label("Your full name").fill("Sam Q Helper")
    await page.get_by_role("button", name="Continue").click()
    await expect(heading).to_have_text("Check your answers before sending your complaint")
    assert await answer_to(page, "Your full name") == "Sam Q Helper"

    # ---- Send lodges it; the receipt goes to the resident
    await page.get_by_role("button", name="Send complaint").click()
    await expect(page.get_by_role("heading", name="Complaint sent")).to_be_visible(timeout=WAIT)
    await assert_accessible(page)
    assert (await page.locator("#reference").inner_text()).strip() == reference
    assert REFERENCE.match(reference) and await lodged(stack, reference)
    letter = await outbox_letter(stack.outbox / reference, "complaint_received")
    assert reference in letter and "Sam Q Helper" in letter
