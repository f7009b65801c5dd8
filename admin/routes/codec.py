"""Temporal's remote codec protocol for the Web UI: `POST /codec/decode` (and `/codec/encode`)
take `{"payloads": [{"metadata": {k: base64}, "data": base64}]}` and answer the same shape, run
through the app's own EncryptionCodec (worker/codec.py), so staff see cases in clear in the Web UI
while the Temporal server only ever holds ciphertext.

Only for a signed-in member of staff (the Web UI sends the staff session cookie: start the UI with
`--ui-codec-endpoint http://127.0.0.1:8000/codec` and tick "Include cross-origin credentials"),
and only from the Web UI's origin (TEMPORAL_UI_URL): CORS names exactly that origin, and a request
from any other Origin, or with none, is refused. These two POSTs carry no CSRF token (the Web UI
cannot send one); admin/security.py exempts exactly them because the Origin check and the session
do its job here.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from admin.off_loop import off_loop
from admin.security import SignInRequired, current_account
from worker.codec import EncryptionCodec, PayloadKeyError

router = APIRouter(prefix="/codec", include_in_schema=False)

MAX_BODY_BYTES = 4 * 1024 * 1024


def _origin(request: Request) -> str:
    return request.app.state.settings.temporal_ui_url.rstrip("/")


def _cors(request: Request) -> dict[str, str]:
    return {
        "Access-Control-Allow-Origin": _origin(request),
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


def _error(request: Request, status: int, detail: str, cors: bool = True) -> JSONResponse:
    """An answer the Web UI can read (`cors`) or, to any other origin, one it cannot."""
    return JSONResponse(
        {"detail": detail}, status_code=status, headers=_cors(request) if cors else {}
    )


def _from_ui(request: Request) -> bool:
    return request.headers.get("origin") == _origin(request)


async def preflight(request: Request) -> Response:
    """CORS preflight: browsers send it without credentials, so it is open, and it only ever
    names the Web UI's origin."""
    if not _from_ui(request):
        return Response(status_code=403)
    return Response(
        status_code=204,
        headers={
            **_cors(request),
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "content-type,x-namespace",
            "Access-Control-Max-Age": "600",
        },
    )


async def transcode(request: Request, action: Literal["encode", "decode"]) -> Response:
    # signed-in staff first (401, with CORS headers for the Web UI so it can say why), then the
    # Origin: for these two routes it stands in for the CSRF token (admin/security.py)
    try:
        await off_loop(current_account, request)
    except SignInRequired:
        cors = _from_ui(request)
        return _error(request, 401, "Sign in first.", cors=cors)
    if not _from_ui(request):
        return _error(
            request,
            403,
            "This request did not come from this site's Temporal Web UI (TEMPORAL_UI_URL).",
            cors=False,
        )
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error(request, 413, "Too many payloads at once.")
    try:
        payloads = json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
    except (json_format.ParseError, UnicodeDecodeError):
        return _error(request, 400, 'Expected {"payloads": [...]} as JSON.')
    codec: EncryptionCodec | None = request.app.state.codec
    if codec is None:  # encryption is off (PAYLOAD_KEYS unset): payloads are already plain
        result = list(payloads.payloads)
    else:
        try:
            if action == "encode":
                result = await codec.encode(payloads.payloads)
            else:
                result = await codec.decode(payloads.payloads)
        except PayloadKeyError as err:
            return _error(request, 422, str(err))
    return Response(
        json_format.MessageToJson(Payloads(payloads=result)),
        media_type="application/json",
        headers=_cors(request),
    )


@router.post("/encode")
async def encode(request: Request) -> Response:
    return await transcode(request, "encode")


@router.post("/decode")
async def decode(request: Request) -> Response:
    return await transcode(request, "decode")


router.add_api_route("/encode", preflight, methods=["OPTIONS"])
router.add_api_route("/decode", preflight, methods=["OPTIONS"])
