"""Every router of the admin app. Staff routers depend on `current_account`; the public ones
(`public`, `health`) are the only routes open without sign-in."""

from __future__ import annotations

from fastapi import FastAPI

from admin.routes import api, auth, cases, health, intake, public, queues, staff


def register(app: FastAPI) -> None:
    for module in (health, auth, public, queues, cases, intake, staff, api):
        app.include_router(module.router)
