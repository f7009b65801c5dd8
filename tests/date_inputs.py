"""The GOV.UK date inputs of the admin forms (day, month and year boxes named "<name>-day" and
so on), as tests post and fill them."""

from __future__ import annotations

import re
from datetime import date

from playwright.async_api import Locator

PARTS = ("day", "month", "year")


def boxes(name: str, day: date | str) -> dict[str, str]:
    """The fields of the date input `name` holding `day`: a date, or "d m yyyy" as typed, or ""."""
    typed = f"{day.day} {day.month} {day.year}" if isinstance(day, date) else day
    texts = typed.split(" ") if typed else ["", "", ""]
    return {f"{name}-{part}": text for part, text in zip(PARTS, texts, strict=True)}


def box_value(html: str, box_id: str) -> str | None:
    """The value a page's box `box_id` shows."""
    match = re.search(rf'<input[^>]*\bid="{re.escape(box_id)}"[^>]*\bvalue="([^"]*)"', html)
    return match.group(1) if match else None


async def fill_date(group: Locator, day: date) -> None:
    """Type `day` into the Day, Month and Year boxes inside `group` (the field's fieldset)."""
    for label, text in zip(("Day", "Month", "Year"), (day.day, day.month, day.year), strict=True):
        await group.get_by_label(label, exact=True).fill(str(text))
