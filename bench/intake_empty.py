"""The empty workflow bench/intake.py measures lodging against, and the worker that runs it:
`python -m worker` itself (its settings, tuning, sandbox, activities and start-up) with this one
workflow type added, so the anchor runs on a worker set up exactly as the cases' own.

    python -m bench.intake_empty    (bench/intake.py starts it; settings from the environment)

Nothing here knows how a case is lodged: the workflow takes a payload and returns.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

NAME = "BenchEmptyWorkflow"


@workflow.defn(name=NAME)
class EmptyWorkflow:
    @workflow.run
    async def run(self, payload: dict[str, Any]) -> None:
        """Takes the payload a lodged complaint carries (decoded as plain data) and does nothing."""


def main() -> None:
    """`python -m worker`'s own entry point, with EmptyWorkflow registered beside the cases'."""
    import asyncio
    import sys

    import worker.__main__ as production
    from config import ConfigError, Settings
    from worker.client import exit_now

    class WithEmpty(production.Worker):  # type: ignore[misc, valid-type]
        def __init__(self, client: Any, **options: Any) -> None:
            options["workflows"] = [*options["workflows"], EmptyWorkflow]
            super().__init__(client, **options)

    production.Worker = WithEmpty  # type: ignore[misc]
    try:
        settings = Settings.load()
    except ConfigError as err:
        print(f"empty worker: refusing to start: {err}", file=sys.stderr)
        exit_now(2)
    try:
        asyncio.run(production.main(settings))
    except Exception:
        production.log.exception("empty worker failed")
        exit_now(1)
    exit_now(0)


if __name__ == "__main__":
    # the workflow must come from `bench.intake_empty`, not `__main__`: the sandbox re-imports
    # a workflow's module by name for each run
    from bench.intake_empty import main as imported_main

    imported_main()
