"""axe-core in the browser tests: any WCAG 2.2 level A or AA violation on a page fails the test.

axe-core's script comes inside the axe-playwright-python package (no download at run time); we
inject it and run it ourselves so the failure names each rule, its help text and the elements."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files

from playwright.async_api import Page

# The WCAG 2.0, 2.1 and 2.2 success criteria at levels A and AA.
WCAG_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]


@cache
def axe_script() -> str:
    return files("axe_playwright_python").joinpath("axe.min.js").read_text(encoding="utf-8")


async def violations(page: Page) -> list[dict]:
    await page.wait_for_load_state("load")
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.evaluate(axe_script())
    options = json.dumps({"runOnly": {"type": "tag", "values": WCAG_AA}})
    result = await page.evaluate(f"axe.run(document, {options})")
    return result["violations"]


def describe(found: list[dict]) -> str:
    lines = []
    for v in found:
        targets = "; ".join(" ".join(n["target"]) for n in v["nodes"][:5])
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{targets}]")
    return "\n".join(lines)


async def assert_accessible(page: Page) -> None:
    """Fail if axe-core finds a WCAG 2.2 A or AA violation on the page as it is now."""
    found = await violations(page)
    assert not found, f"WCAG 2.2 A/AA violations on {page.url}:\n{describe(found)}"
