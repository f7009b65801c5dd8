from __future__ import annotations

from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz(request: Request) -> dict[str, str]:
    """Liveness: the app answers and can read the records database."""
    request.app.state.store.get_case("__healthcheck__")
    return {"status": "ok"}
