"""GET /healthz: the process answers and the database is reachable."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel
from sqlalchemy import text

from app.deps import SessionDep, only_parameters

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The health answer."""

    status: str
    database: str


@router.get("/healthz", dependencies=[Depends(only_parameters())])
def healthz(session: SessionDep) -> Health:
    """Answer ok when the database answers a trivial query."""
    session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return Health(status="ok", database="ok")
