"""Every router of the admin app. Staff routers depend on `current_account`; the public ones
(`public`, `health`, `survey`, `resident`) are the only routes open without sign-in; `codec`
checks the sign-in itself (to answer the Temporal Web UI with CORS headers). Routes that need
Temporal depend on `admin.temporal.require_temporal` (503 while it is down)."""

from __future__ import annotations

from fastapi import FastAPI

from admin.routes import (
    annual,
    api,
    auth,
    cases,
    codec,
    data_protection,
    evidence,
    health,
    inbound,
    learning,
    persons,
    public,
    queues,
    reports,
    resident,
    self_assessment,
    staff,
    survey,
)


def register(app: FastAPI) -> None:
    for module in (
        health,
        auth,
        public,
        survey,
        resident,
        inbound,
        queues,
        cases,
        evidence,
        persons,
        data_protection,
        staff,
        learning,
        reports,
        annual,
        self_assessment,
        api,
    ):
        app.include_router(module.router)
    for module in (codec,):
        app.include_router(module.router)
