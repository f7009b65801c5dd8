from __future__ import annotations

from fastapi import APIRouter, Depends

from admin.security import current_account

router = APIRouter(dependencies=[Depends(current_account)])
