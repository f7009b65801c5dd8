"""Placeholder: filled in by the enquiries work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
