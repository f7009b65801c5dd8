"""One complaint's whole journey through the real stack, in a real browser: a resident complains
on the public form; Jo (case officer) accepts it with its category, the resident's tenure and the
property, Mo (manager) assigns it to her, and Jo contacts the resident, acknowledges and answers
stage 1, with a root cause for each upheld point; Ali (advisor) escalates at the
resident's request, choosing Sam; Sam (reviewer) acknowledges stage 2 and sends the final
response, which closes the case. Every letter goes, and the timeline says who
did what. Along the way the test writes the README's screenshots of a queue and of a case page.

The worker sends letters and writes the records behind the queues a moment after each step, so
those are waited for with `reload_until_visible` (bounded) or Playwright's auto-waiting `expect`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Page, expect

from domain.complaint import LodgeComplaint
from domain.people import Channel
from tests.browser.conftest import Stack, reload_until_visible, sign_in
from workflows.cases import lodge, new_complaint_reference

WAIT = 15_000  # ms, for Playwright's auto-waiting assertions
REFERENCE = re.compile(r"^CMP-[0-9A-Z]{4}-[0-9A-Z]{4}$")
POINTS = ["The boiler repair was missed twice", "Nobody called back when promised"]
OUTCOME = "Fix the boiler and say sorry"
LETTERS = [
    "We have received your complaint",
    "We are looking into your complaint",
    "Our response to your complaint",
    "We have received your request for a stage 2 review",
    "We are reviewing your complaint at stage 2",
    "Our final response to your complaint",
]


# ------------------------------------------------------------------------- helpers


async def complain_online(
    page: Page, stack: Stack, name: str, email: str, description: str, points: list[str]
) -> str:
    """Fill in the public form as a resident would, by its labels; return the reference."""
    await page.goto(f"{stack.base_url}/complain")
    await page.get_by_label("Your full name").fill(name)
    await page.get_by_label("Email address", exact=True).fill(email)
    contact = page.get_by_role("group", name="How would you like us to contact you?")
    await contact.get_by_label("Email", exact=True).check()
    who = page.get_by_role("group", name="Who is making the complaint?")
    await who.get_by_label("I live in one of your homes").check()
    await page.get_by_label("What is your complaint about?").fill(description)
    for n, point in enumerate(points, start=1):
        label = "Point 1" if n == 1 else f"Point {n} (optional)"
        await page.get_by_label(label, exact=True).fill(point)
    await page.get_by_label("What would you like us to do to put it right? (optional)").fill(
        OUTCOME
    )
    await page.get_by_role("button", name="Continue").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Check your answers before sending your complaint"
    )
    await page.get_by_role("button", name="Send complaint").click()
    await expect(page.get_by_role("heading", name="Complaint sent")).to_be_visible(timeout=WAIT)
    reference = (await page.locator("#reference").inner_text()).strip()
    assert REFERENCE.match(reference), reference
    return reference


async def lodge_by_phone(stack: Stack, name: str, days_ago: int) -> str:
    """A complaint an officer took by phone some days ago (so its first deadline has passed)."""
    complaint = LodgeComplaint.model_validate(
        {
            "reference": new_complaint_reference(),
            "resident": {"name": name, "email": "k.example@example.org"},
            "channel": Channel.phone,
            "received_at": datetime.now(UTC) - timedelta(days=days_ago),
            "description": "Damp in the back bedroom, reported in the spring and not treated.",
            "points": ["Damp not treated"],
            "lodged_by": "jo.officer",
        }
    )
    return await lodge(stack.env.client, complaint, stack.task_queue)


async def expect_flash(page: Page, text: str | re.Pattern[str]) -> None:
    await expect(page.locator("#flash")).to_contain_text(text, timeout=WAIT)


async def open_case(page: Page, stack: Stack, reference: str) -> None:
    await page.goto(f"{stack.base_url}/cases/{reference}")
    await expect(page.get_by_role("heading", name=f"Complaint {reference}")).to_be_visible()


async def respond(page: Page, decisions: list[str], summary: str) -> None:
    """Fill in the respond form: a decision and reasons on every point (and the root cause of an
    upheld or partly upheld one), and a summary."""
    form = page.locator("#step-respond")
    for n, decision in enumerate(decisions, start=1):
        group = form.get_by_role("group", name=f"Decision on point {n}", exact=True)
        await group.get_by_label(decision, exact=True).check()
        await form.get_by_label(f"Reasons for the decision on point {n}").fill(
            f"Our reasons on point {n}: we checked the repair logs and the call notes."
        )
        if decision != "Not upheld":
            await form.get_by_label(f"Root cause of point {n}").select_option(
                label="Delay or missed appointment"
            )
    await form.get_by_label("Summary of the response").fill(summary)
    if any(decision != "Not upheld" for decision in decisions):  # else a warning holds it back
        await form.get_by_label("Apology (optional)").fill("We are sorry for what went wrong.")
    await page.get_by_role("button", name="Send the response").click()


def timeline_row(page: Page, what: str):
    return page.locator("#timeline tbody tr").filter(has_text=what)


def letter_row(page: Page, subject: str):
    link = page.get_by_role("link", name=subject)
    return page.locator("#timeline tbody tr").filter(has=link).filter(has_text="Sent")


# ------------------------------------------------------------------------------ tests


async def test_empty_public_form_shows_the_error_summary(stack, new_page):
    page = await new_page()
    await page.goto(f"{stack.base_url}/complain")
    await page.get_by_role("button", name="Continue").click()

    summary = page.locator("#error-summary")
    await expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    await expect(summary).to_be_focused()  # autofocus: screen readers hear the problems first
    assert (await page.title()).startswith("Error:")
    links = summary.get_by_role("link")
    assert await links.count() >= 3  # name, email, description, point 1, ...
    name_link = summary.get_by_role("link", name="Enter your full name")
    assert await name_link.get_attribute("href") == "#name"
    await name_link.click()
    name_field = page.get_by_label("Your full name")
    await expect(name_field).to_be_focused()
    await expect(name_field).to_have_attribute("id", "name")
    # The message is repeated beside the field and read out with it.
    await expect(page.locator("#name-error")).to_contain_text("Enter your full name")
    # read out with it, before the character count's limit
    await expect(name_field).to_have_attribute("aria-describedby", "name-error name-info")
    point_link = summary.get_by_role("link", name="Tell us at least one thing that went wrong")
    assert await point_link.get_attribute("href") == "#point_1"


async def test_a_complaint_from_the_public_form_to_the_final_response(stack, new_page, screenshots):
    # ---- a resident complains online, and two more complaints are in the queue
    resident = await new_page()
    ref = await complain_online(
        resident,
        stack,
        "Ann Example",
        "ann@example.org",
        "The boiler has been broken since March. Two repair visits were missed.",
        POINTS,
    )
    await expect(resident.get_by_text("We will contact you within 3 working days")).to_be_visible()
    other_online = await complain_online(
        resident,
        stack,
        "Bo Sample",
        "bo@example.org",
        "Rubbish left in the shared hallway for three weeks.",
        ["Hallway not cleaned"],
    )
    by_phone = await lodge_by_phone(stack, "Kit Example", days_ago=14)

    # ---- Jo, case officer: finds the case, triages it, contacts, acknowledges
    jo = await new_page()
    await sign_in(jo, stack, "jo.officer")
    await jo.get_by_role("link", name="Team cases").click()
    await expect(jo.get_by_role("heading", name="Team cases")).to_be_visible()
    await reload_until_visible(
        jo,
        *(jo.locator(f'tr[data-reference="{r}"]') for r in (ref, other_online, by_phone)),
    )
    await jo.get_by_role("link", name="Search").click()
    await jo.get_by_label("Reference, name or postcode").fill(ref)
    await jo.get_by_role("button", name="Search").click()
    await expect(jo.locator("#results-title")).to_have_text(f"1 case found for ‘{ref}’")
    await jo.locator("#results").get_by_role("link", name=ref).click()
    await expect(jo.get_by_role("heading", name=f"Complaint {ref}")).to_be_visible()
    await expect(jo.locator("#points li")).to_have_text(POINTS)

    # accepting it, Jo records what reports count it under: category, tenure and property
    accept = jo.locator("#step-accept")
    await accept.get_by_label("Category").select_option(label="Repairs and maintenance")
    await accept.get_by_label("The complainant's tenure").select_option(label="Social rent (LCRA)")
    await accept.get_by_label("Property or tenancy reference").fill("WK/0042/7")
    await jo.get_by_role("button", name="Accept as a stage 1 complaint").click()
    await expect_flash(jo, re.compile(r"Accepted as a stage 1 complaint\. Acknowledgement due"))
    await expect(jo.locator("#category")).to_have_text("Repairs and maintenance")
    await expect(jo.locator("#tenure")).to_have_text("Social rent (LCRA)")
    await expect(jo.locator("#property-reference")).to_have_text("WK/0042/7")

    # Only managers assign anyone (domain/roles.py ROLE_STEPS): Jo sees it is for a colleague,
    # and may only take the unowned case herself; Mo, the manager, assigns the case to her.
    await expect(jo.locator("#step-assign")).to_have_count(0)
    await expect(jo.locator("#other-steps")).to_contain_text("assign the case")
    await expect(jo.get_by_role("button", name="Take this case")).to_be_visible()
    await expect(jo.locator("#policy")).to_contain_text("version")
    mo = await new_page()
    await sign_in(mo, stack, "mo.manager")
    await open_case(mo, stack, ref)
    await mo.get_by_label("Assign to").select_option("jo.officer")
    await mo.get_by_role("button", name="Assign").click()
    await expect_flash(mo, "Assigned")
    await jo.reload()
    await expect(jo.locator("dt:text-is('Owner') + dd")).to_have_text("Jo Officer (jo.officer)")

    await jo.get_by_label("How you contacted the resident").select_option(label="Phone")
    await jo.get_by_label("Notes of the contact").fill(
        "Spoke to Ann. Agreed the two points and that she wants the boiler fixed."
    )
    await jo.get_by_role("button", name="Record contact").click()
    await expect_flash(jo, "Contact recorded")

    ack = jo.locator("#step-acknowledge")
    for n, point in enumerate(POINTS, start=1):  # the points and the outcome come pre-filled
        await expect(ack.get_by_label(f"Point {n}", exact=True)).to_have_value(point)
    await expect(ack.get_by_label("Outcome the resident is looking for")).to_have_value(OUTCOME)
    await jo.get_by_role("button", name="Acknowledge").click()
    await expect_flash(jo, re.compile(r"Acknowledged\. Response due \w{3} \d{2} \w{3} \d{4}"))
    due = re.search(r"\w{3} \d{2} \w{3} \d{4}", await jo.locator("#flash").inner_text())
    assert due is not None
    response_row = jo.locator("#deadlines tbody tr").filter(has_text="Stage 1: response")
    await expect(response_row).to_contain_text(due.group(0))
    await expect(response_row).to_contain_text("Open")

    # The case page mid-way, for the README: deadlines, the step forms and the timeline with
    # the acknowledgement letter sent.
    await reload_until_visible(
        jo,
        letter_row(jo, "We have received your complaint"),
        letter_row(jo, LETTERS[1]),
        absent=(jo.get_by_text("Letters and records from the last step are still being sent"),),
    )
    await expect(jo.locator("#step-respond")).to_be_visible()
    # the top of the page: the case, its deadlines and the first step forms (the whole page
    # with every form open is several screens long)
    await jo.screenshot(
        path=screenshots / "case.png",
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 1700},
    )

    # Jo's team queue, for the README: this case at stage 1, the other two at triage.
    await jo.get_by_role("link", name="Team cases").click()
    main_row = jo.locator(f'tr[data-reference="{ref}"]')
    await reload_until_visible(
        jo,
        main_row.filter(has_text="Stage 1").filter(has_text="Respond"),
        jo.locator(f'tr[data-reference="{by_phone}"]').filter(has_text="Overdue"),
    )
    await expect(jo.locator("#cases tbody tr")).to_have_count(3)
    await jo.screenshot(path=screenshots / "queue.png", full_page=True)

    # ---- Ali, advisor: may not acknowledge or answer, but sees the case
    ali = await new_page()
    await sign_in(ali, stack, "ali.advisor")
    await open_case(ali, stack, ref)
    await expect(ali.locator("#step-record_contact")).to_be_visible()
    await expect(ali.locator("#step-respond")).to_have_count(0)
    await expect(ali.locator("#step-acknowledge")).to_have_count(0)
    await expect(ali.locator("#step-extend")).to_have_count(0)
    await expect(ali.locator("#other-steps")).to_contain_text("send the response")

    # ---- Jo answers stage 1
    await jo.goto(f"{stack.base_url}/cases/{ref}")
    await respond(jo, ["Upheld", "Partly upheld"], "We are sorry: the repair was missed twice.")
    await expect_flash(jo, re.compile(r"Response sent\. The resident can ask for stage 2 until"))
    await expect(jo.locator("#decisions-stage1 tbody tr").first).to_contain_text(
        "Delay or missed appointment"
    )
    await expect(jo.locator("#step-classify")).to_have_count(0)  # answered: kept as it went out
    await expect(jo.locator("#step-escalate")).to_be_visible()

    # ---- Ali escalates at the resident's request, choosing Sam as the reviewer
    await ali.reload()
    await expect(ali.locator("#step-escalate")).to_be_visible()
    reviewer = ali.get_by_label("Stage 2 reviewer (optional)")
    await expect(reviewer.locator("option", has_text="Jo Officer")).to_contain_text(
        "took part in stage 1"
    )
    await reviewer.select_option("sam.reviewer")
    await ali.get_by_role("button", name="Escalate to stage 2").click()
    await expect_flash(ali, re.compile(r"Escalated to stage 2\. Acknowledgement due"))
    await expect(ali.locator("dt:text-is('Owner') + dd")).to_have_text(
        "Sam Reviewer (sam.reviewer)"
    )
    await expect(ali.locator("#step-acknowledge")).to_have_count(0)
    await expect(ali.locator("#step-respond")).to_have_count(0)
    await expect(ali.locator("#other-steps")).to_contain_text("acknowledge the complaint")
    # Jo took part in stage 1, so stage 2's steps are not hers: no forms for them
    await jo.reload()
    await expect(jo.get_by_role("heading", name=f"Complaint {ref}")).to_be_visible()
    await expect(jo.locator("#step-acknowledge")).to_have_count(0)
    await expect(jo.locator("#step-record_contact")).to_have_count(0)
    await expect(jo.locator("#other-steps")).to_contain_text("acknowledge the complaint")

    # ---- Sam, reviewer: finds it in "My cases", acknowledges stage 2, sends the final response
    sam = await new_page()
    await sign_in(sam, stack, "sam.reviewer")
    await expect(sam.get_by_role("heading", name="My cases")).to_be_visible()
    await reload_until_visible(
        sam, sam.locator(f'tr[data-reference="{ref}"]').filter(has_text="Stage 2")
    )
    await sam.get_by_role("link", name=ref).click()
    await expect(sam.get_by_role("heading", name=f"Complaint {ref}")).to_be_visible()
    ack = sam.locator("#step-acknowledge")
    await expect(ack.get_by_label("Point 1", exact=True)).to_have_value(POINTS[0])
    await sam.get_by_role("button", name="Acknowledge").click()
    await expect_flash(sam, re.compile(r"Acknowledged\. Response due"))
    await expect(
        sam.locator("#deadlines tbody tr").filter(has_text="Stage 2: final response")
    ).to_contain_text("Open")

    await respond(sam, ["Upheld", "Upheld"], "On review we uphold both points in full.")
    await expect_flash(sam, "Response sent")

    # ---- closed with the final response; the timeline says who did each step
    await expect(sam.locator("main p.body strong.tag").first).to_have_text("Closed")
    await expect(sam.locator("dt:text-is('Closed') + dd")).to_contain_text(": final response")
    # closed, but kept while the resident may take it to the Housing Ombudsman: that is all
    await expect(sam.locator("#kept-until")).to_contain_text("Kept for the Ombudsman until")
    await expect(sam.locator("#step-links li")).to_have_text(
        ["Record a referral to the Housing Ombudsman"]
    )
    who_did_what = [
        ("Complaint received by online form", "The system"),
        ("Accepted as a stage 1 complaint", "jo.officer"),
        ("Assigned to Jo Officer (jo.officer)", "mo.manager"),
        ("Contacted the resident by phone", "jo.officer"),
        ("Stage 1 acknowledged; response due", "jo.officer"),
        ("Stage 1 response sent (upheld, partly upheld)", "jo.officer"),
        ("Escalated to stage 2", "ali.advisor"),
        ("Stage 2 acknowledged; response due", "sam.reviewer"),
        ("Final response sent (upheld, upheld)", "sam.reviewer"),
        ("Case closed: final response", "The system"),
    ]
    for what, who in who_did_what:
        row = timeline_row(sam, what)
        await expect(row).to_have_count(1)
        await expect(row.locator("td").nth(2)).to_have_text(who)

    # ---- every letter went, and the final response gives the Ombudsman's number
    await reload_until_visible(sam, *(letter_row(sam, subject) for subject in LETTERS))
    await sam.get_by_role("link", name="Our final response to your complaint").click()
    await expect(sam.get_by_role("heading", level=1)).to_have_text(
        f"Our final response to your complaint – reference {ref}"
    )
    await expect(sam.locator("dd").filter(has_text="Sent").locator("strong")).to_have_text("Sent")
    letter = sam.frame_locator("#letter-body")
    await expect(letter.get_by_text("0300 111 3000")).to_be_visible()
    await expect(letter.locator("body")).to_contain_text("Housing Ombudsman")

    for name in ("queue.png", "case.png"):
        png = screenshots / name
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


async def test_the_name_of_someone_complained_for_is_a_full_width_box_on_a_phone(stack, new_page):
    """The radios' 24 px size rule once reached the text box inside the third-party answer."""
    page = await new_page()
    await page.set_viewport_size({"width": 375, "height": 800})
    await page.goto(f"{stack.base_url}/complain")
    await page.locator("#complainant_type-third_party").check()
    box = await page.get_by_label("Name of the person you are complaining for").bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 30, box
