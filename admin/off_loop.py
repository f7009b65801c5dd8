"""Blocking work off the event loop: the admin app's one way to call something slow and
synchronous (argon2 password hashing, every SQLAlchemy call on the records database) from an
`async def` route or dependency.

    account = await off_loop(accounts.authenticate, username, password)

It runs the call in Starlette's worker-thread pool (anyio's; FastAPI runs plain-`def` routes and
dependencies there too), so one slow call, or sixty sign-ins at once, never stalls other requests
such as /healthz. Exceptions pass through unchanged (a locked records database still reaches
admin/app.py's 503 handler).

The pool has WORKER_THREADS threads (`use_worker_threads`, at start-up), not anyio's 40: a
sign-in waiting for a CPU core to hash its password (admin/accounts.py allows one hash per core
at a time) holds a thread while it waits, and a flood of sign-ins must leave threads free for
everyone else's database reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from anyio import to_thread
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
R = TypeVar("R")
WORKER_THREADS = 200  # most of them, in a flood, only wait (for a core, a lock, the database)


async def off_loop(call: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """`call(*args, **kwargs)` in a worker thread; its result (or exception) here."""
    return await run_in_threadpool(call, *args, **kwargs)


def use_worker_threads(threads: int = WORKER_THREADS) -> None:
    """Size the running event loop's worker-thread pool (call it once the loop runs)."""
    to_thread.current_default_thread_limiter().total_tokens = threads
