"""What a complaint's response led to, followed through the real stack in a real browser: Mo
(manager, who may take every step) logs a phone complaint from the staff form, accepts it with
its category, the resident's tenure and the property, acknowledges it and answers stage 1
promising two actions and £50 compensation. The case page shows them under "Putting things
right" and the team queue marks the case "Actions outstanding"; Mo records each action done (the
resident's "We have done what we promised" letter goes after the second), then the
compensation paid, then the Housing Ombudsman's case: the referral, a request for evidence and
the evidence sent, the determination, an order and compliance with it. Last, a lesson recorded
on the Learning page, with an improvement, shows on the complaint's page; and Mo opens the
reports, where the complaint's promises and its tenure's stock are counted (writing the README's
screenshot of the performance report).

The worker sends letters and writes the records behind the queues a moment after each step, so
those are waited for with `reload_until_visible` (bounded) or Playwright's auto-waiting `expect`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.async_api import Page, expect

from tests.browser.conftest import reload_until_visible, sign_in
from tests.date_inputs import fill_date

WAIT = 15_000  # ms, for Playwright's auto-waiting assertions
LONDON = ZoneInfo("Europe/London")
POINTS = ["The kitchen leak was left for six weeks", "The plasterer never came back"]
OUTCOME = "Fix the ceiling and the floor, and pay for the spoiled carpet"
ACTIONS = [
    ("Replaster the kitchen ceiling", "Our repairs team", "Jo Officer (Case officer)", 21),
    ("Replace the damaged kitchen flooring", "Our flooring contractor", "Mo Manager (Manager)", 28),
]
ACTIONS_DONE = "We have done what we promised"  # the actions_completed letter's subject
OMBUDSMAN_REFERENCE = "202412345"
LESSON = "Leaks were left open when the repairs contractor changed"


def day(d: date) -> str:
    """A date as the case page writes it (its tables and the flash messages)."""
    return d.strftime("%a %d %b %Y")


async def expect_flash(page: Page, text: str | re.Pattern[str]) -> None:
    await expect(page.locator("#flash")).to_contain_text(text, timeout=WAIT)


def letter_row(page: Page, subject: str):
    link = page.get_by_role("link", name=subject)
    return page.locator("#timeline tbody tr").filter(has=link).filter(has_text="Sent")


async def test_a_manager_follows_up_the_actions_compensation_and_ombudsman(
    stack, new_page, screenshots
):
    today = datetime.now(LONDON).date()
    mo = await new_page()
    await sign_in(mo, stack, "mo.manager")

    # ---- 1. log a phone complaint, received now, owned by Mo
    await mo.get_by_role("link", name="Log a complaint").click()
    await expect(mo.get_by_role("heading", name="Log a complaint")).to_be_visible()
    received = mo.get_by_role("group", name="When the complaint was received")
    for box, shown in (("Day", today.day), ("Month", today.month), ("Year", today.year)):
        await expect(received.get_by_label(box, exact=True)).to_have_value(str(shown))
    await mo.get_by_label("Full name", exact=True).fill("Pat Example")
    await mo.get_by_label("Email address", exact=True).fill("pat@example.org")
    await mo.get_by_label("Postal address").fill("4 Mill Lane\nTonbridge")
    await mo.get_by_label("Postcode").fill("TN9 1AB")
    await mo.get_by_label("What the complaint is about").fill(
        "The kitchen ceiling leaked for six weeks before anyone came, and the plaster is ruined."
    )
    for n, point in enumerate(POINTS, start=1):
        await mo.get_by_label(f"Point {n}", exact=True).fill(point)
    await mo.get_by_label("Outcome they are looking for (optional)").fill(OUTCOME)
    await mo.get_by_label("Case owner (optional)").select_option("mo.manager")
    await mo.get_by_role("button", name="Log the complaint").click()
    heading = mo.get_by_role("heading", name=re.compile(r"^Complaint CMP-"))
    await expect(heading).to_be_visible(timeout=WAIT)
    ref = (await heading.inner_text()).removeprefix("Complaint ").strip()
    await expect_flash(mo, f"Complaint {ref} logged")
    await expect(mo.locator("#owner")).to_have_text("Mo Manager (mo.manager)")
    await expect(mo.locator("#putting-right #no-actions")).to_have_text("No actions promised yet.")
    await expect(mo.locator("#actions-outstanding")).to_have_count(0)

    # ---- 2. accept it with its category, tenure and property; acknowledge it
    accept = mo.locator("#step-accept")
    await accept.get_by_label("Category").select_option(label="Repairs and maintenance")
    await accept.get_by_label("The complainant's tenure").select_option(label="Social rent (LCRA)")
    await accept.get_by_label("Property or tenancy reference").fill("TB/0004/1")
    await mo.get_by_role("button", name="Accept as a stage 1 complaint").click()
    await expect_flash(mo, "Accepted as a stage 1 complaint. Acknowledgement due")
    await expect(mo.locator("#category")).to_have_text("Repairs and maintenance")
    await expect(mo.locator("#tenure")).to_have_text("Social rent (LCRA)")
    await expect(mo.locator("#property-reference")).to_have_text("TB/0004/1")
    ack = mo.locator("#step-acknowledge")
    await expect(ack.get_by_label("Outcome the resident is looking for")).to_have_value(OUTCOME)
    await mo.get_by_role("button", name="Acknowledge", exact=True).click()
    await expect_flash(mo, "Acknowledged. Response due")

    # ---- 3. answer stage 1: both points upheld, two actions, £50 compensation
    respond = mo.locator("#step-respond")
    for n in (1, 2):
        decision = respond.get_by_role("group", name=f"Decision on point {n}", exact=True)
        await decision.get_by_label("Upheld", exact=True).check()
        await respond.get_by_label(f"Reasons for the decision on point {n}").fill(
            f"Our reasons on point {n}: the repair logs show the delay."
        )
        await respond.get_by_label(f"Root cause of point {n}").select_option(
            label="Delay or missed appointment"
        )
    await respond.get_by_label("Summary of the response").fill(
        "We are sorry: the leak should have been fixed within days."
    )
    dues = [today + timedelta(days=days) for *_, days in ACTIONS]
    for i, ((action, owner, responsible, _), due) in enumerate(zip(ACTIONS, dues, strict=True)):
        row = respond.get_by_role("group", name=f"Action {i + 1} (optional)")
        await row.get_by_label("What we will do").fill(action)
        await row.get_by_label("Who will do it, as the resident will read it").fill(owner)
        await fill_date(row.get_by_role("group", name="When it is due"), due)
        await row.get_by_label("Member of staff responsible").select_option(label=responsible)
    await respond.get_by_label("Compensation in pounds (optional)").fill("50")
    await mo.get_by_role("button", name="Send the response", exact=True).click()
    await expect_flash(mo, "Response sent. The resident can ask for stage 2 until")

    # ---- 4. what the case page shows: the tag, both actions open, the compensation offered
    await expect(mo.locator("#actions-outstanding")).to_have_text("Actions outstanding")
    right = mo.locator("#putting-right")
    await expect(right.get_by_role("heading", name="Putting things right")).to_be_visible()
    await expect(right.locator("#actions tbody tr")).to_have_count(2)
    for n, ((action, owner, responsible, _), due) in enumerate(zip(ACTIONS, dues, strict=True), 1):
        cells = right.locator(f"#action-{n} td")
        await expect(cells.nth(1)).to_have_text(action)
        await expect(cells.nth(2)).to_have_text(owner)
        await expect(cells.nth(3)).to_have_text(responsible.split(" (")[0])
        await expect(cells.nth(4)).to_have_text(day(due))
        await expect(cells.nth(5)).to_have_text("Open")
    await expect(right.locator("#compensation-offered")).to_have_text("£50.00")
    await expect(right.locator("#compensation-paid")).to_have_text("£0.00")
    await expect(right.locator("#compensation-outstanding")).to_have_text("£50.00")

    # ---- 9. the team queue marks the case while its actions are open (the records DB lags)
    await mo.get_by_role("link", name="Team cases").click()
    await expect(mo.get_by_role("heading", name="Team cases")).to_be_visible()
    queue_row = mo.locator(f'tr[data-reference="{ref}"]')
    await reload_until_visible(
        mo, queue_row.locator(".actions-outstanding").filter(has_text="Actions outstanding")
    )
    await expect(queue_row).to_contain_text("Stage 1")
    await queue_row.get_by_role("link", name=ref).click()
    await expect(heading).to_have_text(f"Complaint {ref}")

    # ---- 5. action 1 done with a note; then action 2, and the resident's letter goes
    done = mo.locator("#step-complete_action")
    which = done.get_by_role("group", name="Which action is done")
    await expect(which.get_by_role("radio")).to_have_count(2)
    await which.get_by_role("radio", name=re.compile(r"^1: Replaster")).check()
    await done.get_by_label("What was done").fill("Ceiling replastered; the resident confirmed.")
    await mo.get_by_role("button", name="Record as done").click()
    await expect_flash(mo, "Action recorded as done. 1 action still open")
    await expect(right.locator("#action-1 td").nth(5)).to_contain_text(f"Done on {day(today)}")
    await expect(right.locator("#action-1")).to_contain_text("Ceiling replastered")
    await expect(right.locator("#action-2 td").nth(5)).to_have_text("Open")
    await expect(mo.locator("#actions-outstanding")).to_be_visible()

    await expect(which.get_by_role("radio")).to_have_count(1)
    # the only action left comes chosen
    await expect(which.get_by_role("radio", name=re.compile(r"^2: Replace"))).to_be_checked()
    await done.get_by_label("What was done").fill("New flooring laid by the contractor.")
    await mo.get_by_role("button", name="Record as done").click()
    await expect_flash(mo, "Every action is done: the resident's letter saying so is on its way")
    await expect(right.locator("#action-2 td").nth(5)).to_contain_text(f"Done on {day(today)}")
    await expect(mo.locator("#step-complete_action")).to_have_count(0)
    # every action done, but the £50 is still owed: the tag says so until it is paid below
    await expect(mo.locator("#actions-outstanding")).to_have_text("Compensation owed")
    await reload_until_visible(mo, letter_row(mo, ACTIONS_DONE))
    link = mo.locator("#timeline").get_by_role("link", name=ACTIONS_DONE)
    await expect(link).to_have_attribute("href", re.compile(r"/letters/actions_completed(%3A|:)2$"))
    assert "actions_completed:2" in {row.letter_key for row in stack.store.letters(ref)}
    await link.click()  # the letter lists each action and the day it was done
    letter_title = f"{ACTIONS_DONE} – reference {ref}"
    await expect(mo.get_by_role("heading", level=1)).to_have_text(letter_title)
    letter = mo.frame_locator("#letter-body").locator("body")
    for action, *_ in ACTIONS:
        await expect(letter).to_contain_text(action)
    await mo.go_back()
    await expect(heading).to_have_text(f"Complaint {ref}")

    # ---- 6. the compensation paid: nothing more owed
    pay = mo.locator("#step-record_compensation")
    await expect(pay).to_contain_text("Offered £50.00; paid £0.00; still owed £50.00.")
    await pay.get_by_label("Amount paid in pounds").fill("50")
    await pay.get_by_label("Note (optional)").fill("Paid to the rent account.")
    await mo.get_by_role("button", name="Record compensation").click()
    await expect_flash(mo, "Compensation recorded. Nothing more is owed")
    await expect(right.locator("#compensation-paid")).to_have_text("£50.00")
    await expect(right.locator("#compensation-outstanding")).to_have_text("£0.00")
    await expect(mo.locator("#step-record_compensation")).to_have_count(0)
    await expect(mo.locator("#actions-outstanding")).to_have_count(0)

    # ---- 7. the Housing Ombudsman's case
    ombudsman = mo.locator("#ombudsman")
    await expect(ombudsman).to_have_count(0)
    refer = mo.locator("#step-refer_to_ombudsman")
    await refer.get_by_label("The Ombudsman's reference").fill(OMBUDSMAN_REFERENCE)
    await fill_date(refer.get_by_role("group", name="Date of the referral"), today)
    await mo.get_by_role("button", name="Record the referral").click()
    await expect_flash(mo, "Referral to the Housing Ombudsman recorded")
    await expect(mo.locator("#with-ombudsman")).to_have_text("Housing Ombudsman")
    await expect(ombudsman.locator("#ombudsman-reference")).to_have_text(OMBUDSMAN_REFERENCE)
    await expect(ombudsman.locator("#ombudsman-referred")).to_have_text(day(today))
    await expect(ombudsman.locator("#ombudsman-determination")).to_have_text("Not made yet")

    evidence_due = today + timedelta(days=14)
    ask = mo.locator("#step-record_evidence_request")
    await ask.get_by_label("What the Ombudsman asked for").fill(
        "The repair logs and call notes for the leak."
    )
    await fill_date(ask.get_by_role("group", name="Date the evidence is due"), evidence_due)
    await mo.get_by_role("button", name="Record the request").click()
    asked = f"The Ombudsman's request for evidence recorded. Due {day(evidence_due)}"
    await expect_flash(mo, asked)
    request = ombudsman.locator("#ombudsman-requests #request-1 td")
    await expect(request.nth(1)).to_have_text("The repair logs and call notes for the leak.")
    await expect(request.nth(3)).to_have_text(day(evidence_due))
    await expect(request.nth(4)).to_have_text("Open")

    sent = mo.locator("#step-record_evidence_sent")
    await expect(
        sent.get_by_role("group", name="Which request the evidence answers").get_by_role("radio")
    ).to_be_checked()  # the only open request
    await sent.get_by_label("What was sent").fill("Repair logs and call notes, by the portal.")
    await mo.get_by_role("button", name="Record evidence sent").click()
    await expect_flash(mo, "Evidence sent to the Ombudsman recorded")
    await expect(request.nth(4)).to_contain_text(f"Sent {day(today)}")
    await expect(request.nth(4)).to_contain_text("Repair logs and call notes, by the portal.")

    determine = mo.locator("#step-record_determination")
    await (
        determine.get_by_role("group", name="The Ombudsman's determination")
        .get_by_label("Service failure", exact=True)
        .check()
    )
    await determine.get_by_label("Findings").fill("The landlord took too long to fix the leak.")
    await fill_date(determine.get_by_role("group", name="Date of the determination"), today)
    await mo.get_by_role("button", name="Record the determination").click()
    await expect_flash(mo, "The Ombudsman's determination recorded")
    determination = ombudsman.locator("#ombudsman-determination")
    await expect(determination).to_contain_text(f"Service failure on {day(today)}")
    await expect(determination).to_contain_text("The landlord took too long to fix the leak.")
    await expect(mo.locator("#step-record_determination")).to_have_count(0)

    order_due = today + timedelta(days=28)
    order_form = mo.locator("#step-record_ombudsman_order")
    await (
        order_form.get_by_role("group", name="What the Ombudsman made")
        .get_by_label("Order", exact=True)
        .check()
    )
    await order_form.get_by_label("What it says we must do").fill(
        "Pay the resident a further £100 and review the repairs contract."
    )
    await fill_date(order_form.get_by_role("group", name="Date it is due"), order_due)
    await mo.get_by_role("button", name="Record the order").click()
    await expect_flash(mo, f"The Ombudsman's order recorded. Due {day(order_due)}")
    order = ombudsman.locator("#ombudsman-orders #order-1 td")
    await expect(order.nth(1)).to_have_text("Order")
    await expect(order.nth(2)).to_have_text(
        "Pay the resident a further £100 and review the repairs contract."
    )
    await expect(order.nth(4)).to_have_text(day(order_due))
    await expect(order.nth(5)).to_have_text("Open")

    comply = mo.locator("#step-record_order_complied")
    await expect(
        comply.get_by_role("group", name="Which order we complied with").get_by_role("radio")
    ).to_be_checked()  # the only open order
    await comply.get_by_label("How we showed we complied").fill(
        "Payment receipt and the contract review, sent to the Ombudsman."
    )
    await mo.get_by_role("button", name="Record compliance").click()
    await expect_flash(mo, "Compliance with the order recorded")
    await expect(order.nth(5)).to_contain_text(f"Complied {day(today)}")
    await expect(order.nth(5)).to_contain_text("Payment receipt and the contract review")
    await expect(mo.locator("#step-record_order_complied")).to_have_count(0)

    # ---- 8. a lesson from this complaint, recorded on the Learning page
    lessons = mo.locator("section#lessons")
    await expect(lessons).to_contain_text("None linked to this complaint yet.")
    await mo.get_by_role("link", name="Learning", exact=True).click()
    await expect(mo.get_by_role("heading", name="Learning from complaints")).to_be_visible()
    await mo.get_by_label("What we learned").fill(LESSON)
    await mo.get_by_label("Service area").fill("Repairs")
    await mo.get_by_label("The complaints that taught us this").fill(ref)
    await mo.get_by_role("button", name="Record the lesson").click()
    await expect(mo.get_by_role("heading", name=LESSON)).to_be_visible(timeout=WAIT)
    await expect_flash(mo, re.compile(rf"Lesson \d+ recorded, linked to {ref}\."))
    # ... with an improvement: what will change, who owns it and by when
    improvement_due = today + timedelta(days=60)
    await mo.get_by_label("What will change").fill(
        "Repairs now call the resident back the same day."
    )
    await mo.get_by_label("Owner").select_option(label="Mo Manager")
    await mo.get_by_label("Day").fill(str(improvement_due.day))
    await mo.get_by_label("Month").fill(str(improvement_due.month))
    await mo.get_by_label("Year").fill(str(improvement_due.year))
    await mo.get_by_role("button", name="Add the improvement").click()
    await expect_flash(mo, f"Improvement added for Mo Manager, due {improvement_due:%d %B %Y}.")
    await mo.locator("#lesson-complaints").get_by_role("link", name=ref).click()
    await expect(heading).to_have_text(f"Complaint {ref}")
    await expect(lessons.get_by_role("link", name=LESSON)).to_be_visible()
    await expect(lessons).to_contain_text("(Repairs): 0 of 1 improvement done")

    # ---- 10. the reports: this complaint's promises are counted
    await mo.get_by_role("link", name="Reports", exact=True).click()
    await mo.get_by_role("link", name="Performance against every promise").click()
    await expect(
        mo.get_by_role("heading", name="Performance against every promise")
    ).to_be_visible()
    # clocks count by their due day: take the period to two months ahead, past every due day here
    last_day = mo.get_by_role("group", name="Last day due")
    await fill_date(last_day, today + timedelta(days=60))
    await mo.get_by_role("button", name="Show").click()
    acknowledged = mo.locator("#promise-s1_acknowledgement td")
    await expect(acknowledged.nth(1)).not_to_have_text("0")  # met: this complaint at least
    await expect(mo.locator("#by-month")).to_be_visible()
    await expect(mo.locator("#report-csv")).to_have_attribute("href", re.compile(r"\.csv\?from="))
    await mo.screenshot(path=screenshots / "reports.png", full_page=True)
    await mo.get_by_role("link", name="Reports", exact=True).click()
    await mo.get_by_role("link", name="Tenant Satisfaction Measures").click()
    lcra = mo.locator("#ch01-LCRA td")
    await expect(lcra.nth(1)).not_to_have_text("0")  # stage 1 received: this one at least
    await expect(mo.locator("#rules")).to_contain_text("Withdrawn complaints count as received")


async def test_the_public_performance_page_names_nobody(stack, new_page):
    """No sign-in: the figures of every case on this stack (the journey above, if it ran first:
    Pat Example's complaint), and no resident's name, reference or address anywhere."""
    resident = await new_page()
    await resident.goto(f"{stack.base_url}/performance")
    await expect(
        resident.get_by_role("heading", name="How we are keeping our promises")
    ).to_be_visible()
    await expect(resident.locator("#tsm")).to_contain_text("CH01(1) stage 1 complaints per 1,000")
    await expect(resident.get_by_role("link", name="Sign out")).to_have_count(0)
    page = await resident.content()
    references = re.findall(r"(?:CMP|ENQ)-[A-Z0-9]{4}-[A-Z0-9]{4}", page)
    assert references == []
    for private in ("Pat Example", "pat@example.org", "Mill Lane", "TN9 1AB", "mo.manager"):
        assert private not in page, private
