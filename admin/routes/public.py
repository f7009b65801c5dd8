"""The residents' online complaint form: open to everyone."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
