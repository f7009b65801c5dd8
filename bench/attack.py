"""Issue 9's attacks against the real stack (the dev server, `python -m worker`, `python -m admin`
as processes), each tried again and said to hold or break. The slow ones have their own scripts:
the sign-in flood (`login_flood.py`) and Temporal going away (`temporal_down.py`).

    .venv/bin/python bench/attack.py

Prints one line per attack; exits 1 if any broke.
"""

from __future__ import annotations

import asyncio
import email
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from email.policy import default as default_policy
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from admin.accounts import Role
from admin.forms import SUBMISSION
from bench.common import add_staff, csrf_in, sign_in, stack
from worker.client import exit_now

results: list[tuple[str, bool, str]] = []


def said(attack: str, held: bool, how: str) -> None:
    results.append((attack, held, how))
    print(f"{'held ' if held else 'BROKE'}  {attack}: {how}", flush=True)


def public_form(csrf: str, submission: str, **changes: str) -> dict[str, str]:
    day = date.today() - timedelta(days=7)
    return {
        "csrf_token": csrf,
        SUBMISSION: submission,
        "name": "Ann Example",
        "email": "ann@example.org",
        "phone": "",
        "address_line_1": "",
        "address_line_2": "",
        "address_town": "",
        "postcode": "",
        "preferred_contact": "email",
        "complainant_type": "resident",
        "acting_for": "",
        "description": "My boiler repair appointment was missed twice.",
        "point_1": "The engineer did not come",
        "outcome_sought": "Fix the boiler",
        "incident_date-day": str(day.day),
        "incident_date-month": str(day.month),
        "incident_date-year": str(day.year),
        "website": "",
    } | changes


async def main() -> int:
    async with stack("mo", Role.manager) as s:
        add_staff(s.process_env["DATABASE_URL"], "ad", Role.advisor)
        outbox = Path(s.process_env["OUTBOX_DIR"])
        log = Path(s.process_env["DATABASE_URL"].removeprefix("sqlite:///")).parent / "admin.log"

        # 1 and 2: the public form, anonymously
        async with s.browser() as anyone:
            page = await anyone.get("/complain")
            hostile = "Ann Example, attacker@evil.example, " + "x" * 80
            sent = await anyone.post(
                "/complain",
                data=public_form(csrf_in(page.text), csrf_in_submission(page.text), name=hostile),
            )
            ref = str(sent.url).rsplit("/", 1)[-1]
            receipt = await wait_for(outbox / ref, "complaint_received.eml")
            to = email.message_from_bytes(receipt.read_bytes(), policy=default_policy)["To"]
            said(
                "1 recipient injection (name with a comma and an address, 116 characters)",
                [a.addr_spec for a in to.addresses] == ["ann@example.org"],
                f"the receipt went to {len(to.addresses)} recipient(s)",
            )
            lodged = refused = 0
            started = time.perf_counter()
            for i in range(30):
                page = await anyone.get("/complain")
                answer = await anyone.post(
                    "/complain",
                    data=public_form(
                        csrf_in(page.text), csrf_in_submission(page.text), email=f"b{i}@example.org"
                    ),
                )
                lodged += "/complain/done/" in str(answer.url)
                refused += answer.status_code == 429
            took = time.perf_counter() - started
            said(
                "2 public form flood (30 complaints from one address)",
                lodged <= 5 and refused == 30 - lodged,
                f"{lodged} lodged (1 more before), {refused} refused with 429 in {took:.1f} s",
            )

        # 3, 5, 6, 9 as staff
        async with s.browser() as advisor, s.browser() as manager:
            assert await sign_in(advisor, "ad") == 303
            assert await sign_in(manager, "mo") == 303
            token = (await advisor.get("/api/session")).json()["csrf_token"]
            body = {
                "resident": {"name": "Cal Example", "email": "cal@example.org"},
                "channel": "phone",
                "received_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "description": "The communal lights have been out for a month.",
            }
            headers = {"X-CSRF-Token": token}
            own = await advisor.post(
                "/api/complaints", json=body | {"owner": "ad"}, headers=headers
            )
            made_up = await advisor.post(
                "/api/complaints",
                json=body | {"owner": {"id": "x", "name": "X", "email": "x@evil.example"}},
                headers=headers,
            )
            said(
                "3 an advisor sets the owner (herself; a made-up outsider)",
                own.status_code == 403 and made_up.status_code in (403, 422),
                f"HTTP {own.status_code}, HTTP {made_up.status_code}",
            )
            zero = await advisor.post(
                "/api/complaints",
                json=body | {"received_at": 0},
                headers=headers | {"Idempotency-Key": uuid.uuid4().hex},
            )
            said(
                '9 "received_at": 0 as a date-time',
                zero.status_code == 422,
                f"HTTP {zero.status_code}",
            )
            await advisor.get("/search", params={"q": "Ann Example"})
            await advisor.get("/api/search", params={"q": "TN13 1AA"})
            await asyncio.sleep(0.5)  # the access log line is written after the answer
            text = log.read_text() if log.exists() else ""
            said(
                "6 a search's words in the access log",
                bool(text) and "Ann+Example" not in text and "TN13" not in text,
                "log read" if text else "no admin log found",
            )
            staff = await manager.get("/staff")
            csrf = csrf_in(staff.text)
            for active in ({}, {"active": "on"}):  # an unticked box is not sent
                changed = await manager.post(
                    "/staff/ad",
                    data={"role": "advisor", "password": "", "csrf_token": csrf} | active,
                )
                assert changed.status_code == 200, changed.status_code
            after = await advisor.get("/api/session")
            said(
                "5 a copied cookie after deactivation and reactivation",
                after.status_code == 401,
                f"HTTP {after.status_code}",
            )
        # 4 (last: it spends this address's sign-in allowance): a new X-Forwarded-For and account
        # name on every try, so only the limit per real address can stop it
        async with s.browser() as guesser:
            statuses = []
            for i in range(10):
                guesser.headers["X-Forwarded-For"] = f"198.51.100.{i}"
                statuses.append(await sign_in(guesser, f"guess{i}", "not the password"))
            said(
                "4 sign-in limit bypassed with X-Forwarded-For",
                statuses.count(429) == 5,
                f"answers {statuses}",
            )

    broke = [r for r in results if not r[1]]
    print(f"\n{len(results) - len(broke)} of {len(results)} attacks held")
    return 1 if broke else 0


def csrf_in_submission(html: str) -> str:
    marker = f'name="{SUBMISSION}" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


async def wait_for(folder: Path, name: str, seconds: float = 30) -> Path:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (folder / name).exists():
            return folder / name
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no {name} in {folder}")


if __name__ == "__main__":
    exit_now(asyncio.run(main()))
