"""One way to reach Temporal, shared by the worker, the starter and the admin app."""

from __future__ import annotations

import logging
import os
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.settings import Settings


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


def exit_now(code: int) -> None:
    """Exit without interpreter teardown: the Temporal client's Rust threads can crash a
    finalising interpreter (temporalio/sdk-python#300), turning a finished command into SIGSEGV."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
