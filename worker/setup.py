"""Register the search attributes on a Temporal namespace. `make run`'s dev server registers them
with --search-attribute flags; tests and production clusters use this."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from workflows.search_attributes import ALL


async def register_search_attributes(client: Client) -> list[str]:
    """Add any of ours the namespace lacks; returns the names added (idempotent)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=client.namespace)
        )
        existing = set(listed.custom_attributes)
    except RPCError as err:  # the time-skipping test server cannot list, only add
        if err.status is not RPCStatusCode.UNIMPLEMENTED:
            raise
        existing = set()
    missing = {key.name: key.indexed_value_type for key in ALL if key.name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)
