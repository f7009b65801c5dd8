from __future__ import annotations

from playwright.async_api import expect

from tests.browser.conftest import PASSWORD, sign_in


async def test_staff_sign_in_and_wrong_password(stack, new_page):
    page = await new_page()
    await page.goto(f"{stack.base_url}/queues/mine")
    assert "/login" in page.url  # every staff page is behind sign-in
    await page.get_by_label("Username").fill("jo.officer")
    await page.get_by_label("Password").fill(PASSWORD + "x")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_text("The username or password is not right")).to_be_visible()
    await sign_in(page, stack, "jo.officer")
    await expect(page.get_by_text("Jo Officer").first).to_be_visible()
