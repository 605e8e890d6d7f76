"""GET /healthz: the database is reachable, has the expected schema and is intact."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from app.deps import SettingsDep, only_parameters
from app.errors import ServiceUnavailable
from app.health import DatabaseHealth

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The health answer."""

    status: str
    database: str


def get_database_health(request: Request, settings: SettingsDep) -> DatabaseHealth:
    """The application's database health checker, created on first use."""
    health: DatabaseHealth | None = getattr(request.app.state, "database_health", None)
    if health is None:
        health = DatabaseHealth(request.app.state.engine, settings.health_integrity_interval)
        request.app.state.database_health = health
    return health


@router.get("/healthz", dependencies=[Depends(only_parameters())],
            responses={503: {"description": "The database is unreachable, outdated or damaged"}})
def healthz(health: Annotated[DatabaseHealth, Depends(get_database_health)]) -> Health:
    """Answer ok when the database answers, has every table and column, and is intact."""
    problems = health.problems()
    if problems:
        raise ServiceUnavailable(f"database: {'; '.join(problems)}")
    return Health(status="ok", database="ok")
