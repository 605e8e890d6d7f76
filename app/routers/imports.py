"""POST /api/imports (multipart upload, admin), GET /api/imports[/{id}[/rejected.csv]].

The upload size limit is enforced before the body is read: a declared Content-Length
over the limit gets 413 at once, and a chunked body is cut off as soon as it passes it.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import FormData, UploadFile
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.auth import AdminGate
from app.config import Settings
from app.deps import SettingsDep, only_parameters
from app.errors import InvalidBody, NotFound, PayloadTooLarge, TooManyRequests
from app.importer.columns import (
    MAX_MAPPING_BYTES,
    ColumnMapping,
    mapping_from_document,
    read_mapping_document,
)
from app.importer.context import import_context
from app.importer.jobs import start_background_import
from app.importer.pipeline import ImportMode, ImportOptions
from app.importer.presets import PRESETS, Preset
from app.importer.runs import get_run, recent_runs
from app.importer.sources import safe_file_name
from app.ratelimit import rate_limiter

router = APIRouter(prefix="/api/imports", tags=["imports"])

MAX_FILES = 200
_COPY_CHUNK = 1024 * 1024


def _admin_gate(request: Request) -> AdminGate:
    """The application's admin check, created on first use."""
    gate: AdminGate | None = getattr(request.app.state, "admin_gate", None)
    if gate is None:
        settings: Settings = request.app.state.settings
        stored = settings.admin_token_hash.get_secret_value() if settings.admin_token_hash else None
        failures = rate_limiter(settings.redis_url, settings.admin_failure_rate,
                                settings.admin_failure_burst, name="admin-failures")
        gate = request.app.state.admin_gate = AdminGate(stored, failures)
    return gate


class AdminFailureShield:
    """ASGI middleware: a client past its failed admin authentications gets 429 before routing.

    A flood of wrong tokens from one client then costs a few dozen microseconds a request,
    not a pass through routing and dependencies, and public reads keep their share.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 429 at once for a limited client on /api/imports; else pass the request on."""
        refusal = _refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = JSONResponse(refusal.to_body(), status_code=refusal.status_code,
                                headers=refusal.headers)
        await response(scope, receive, send)


def _refusal(scope: Scope) -> TooManyRequests | None:
    """The 429 for this request when it is for an admin route from a limited client."""
    gate: AdminGate | None = getattr(scope["app"].state, "admin_gate", None)
    if gate is None or not str(scope["path"]).startswith(router.prefix):
        return None
    client = scope.get("client")
    return gate.refusal(client[0] if client else "unknown")


async def admin_only(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> None:
    """Refuse the request unless it carries the admin token (401; 429 after failures).

    It is checked first and takes no sync dependency, so a refusal never waits for a
    worker thread: a flood of wrong tokens only costs the event loop a few microseconds each.
    """
    client = request.client.host if request.client else "unknown"
    await _admin_gate(request).check(authorization, client)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"upload larger than the limit of {limit} bytes")


def _limited_receive(request: Request, limit: int) -> Callable[[], Awaitable[Message]]:
    """The request's receive channel, cut off once more than `limit` bytes arrived."""
    received = 0

    async def receive() -> Message:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit)
        return message

    return receive


async def _read_form(request: Request, limit: int) -> FormData:
    """Parse the multipart body without ever holding more than `limit` bytes of it."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _too_large(limit)
    limited = Request(request.scope, _limited_receive(request, limit))
    return await limited.form(max_files=MAX_FILES + 1, max_fields=10)


async def _save_uploads(form: FormData, folder: Path) -> list[Path]:
    """Copy every file of the `files` field into its own subfolder; return their paths."""
    uploads = [item for item in form.getlist("files") if isinstance(item, UploadFile)]
    if not uploads:
        raise InvalidBody("no file: send the CSV files in the multipart field 'files'",
                          parameter="files")
    if len(uploads) > MAX_FILES:
        raise InvalidBody(f"at most {MAX_FILES} files per import", parameter="files")
    saved = []
    for index, upload in enumerate(uploads):
        path = folder / f"{index:03d}" / safe_file_name(upload.filename)
        path.parent.mkdir()
        with path.open("wb") as target:
            while chunk := await upload.read(_COPY_CHUNK):
                target.write(chunk)
        saved.append(path)
    return saved


async def _mapping(form: FormData, preset: Preset | None) -> ColumnMapping:
    """The preset or the optional mapping file, plus the `source` and `default_category` fields."""
    document: dict[str, Any] = dict(PRESETS[preset]) if preset else {}
    upload = form.get("mapping")
    if isinstance(upload, UploadFile) and preset:
        raise InvalidBody("a mapping file and a preset exclude each other", parameter="mapping")
    if isinstance(upload, UploadFile):
        try:
            document = read_mapping_document(await upload.read(MAX_MAPPING_BYTES + 1), "mapping")
        except ValueError as error:
            raise InvalidBody(str(error), parameter="mapping") from None
    for name in ("source", "default_category"):
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            document[name] = value.strip()
    try:
        return mapping_from_document(document, "mapping")
    except ValueError as error:
        raise InvalidBody(str(error), parameter="mapping") from None


@router.post(
    "",
    status_code=202,
    dependencies=[Depends(admin_only),
                  Depends(only_parameters("mode", "strict_sectors", "preset"))],
    responses={401: {}, 409: {}, 413: {}, 422: {}, 429: {}},
)
async def create_import(
    request: Request, settings: SettingsDep,
    mode: Annotated[ImportMode, Query(description="default, strict or dry_run")] =
    ImportMode.DEFAULT,
    strict_sectors: Annotated[bool, Query(
        description="Reject rows whose sector is unknown (default: file them under non-classe)")]
    = False,
    preset: Annotated[Preset | None, Query(
        description="Read a public registry as published: sirene (StockEtablissement) or rna "
        "(waldec)")] = None,
) -> JSONResponse:
    """Upload CSV files (multipart field `files`) and import them in the background."""
    form = await _read_form(request, settings.max_upload_bytes)
    folder = Path(tempfile.mkdtemp(prefix="ess-import-"))
    try:
        files = await _save_uploads(form, folder)
        mapping = await _mapping(form, preset)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        await form.close()
    options = ImportOptions(mode=mode, mapping=mapping, origin="http", log_dry_run=True,
                            strict_sectors=strict_sectors, registry=preset)
    run_id = await run_in_threadpool(start_background_import, request.app.state.engine,
                                     lambda: import_context(settings), files, folder, options)
    location = f"/api/imports/{run_id}"
    return JSONResponse({"id": run_id, "status": "running", "href": location}, status_code=202,
                        headers={"Location": location})


@router.get("", dependencies=[Depends(admin_only), Depends(only_parameters())])
def list_imports(request: Request) -> dict[str, Any]:
    """The latest imports, newest first (without their full reports)."""
    views = recent_runs(request.app.state.engine)
    return {"imports": [view.to_dict(with_report=False) for view in views]}


@router.get("/{run_id}", dependencies=[Depends(admin_only), Depends(only_parameters())],
            responses={404: {}})
def read_import(run_id: str, request: Request) -> dict[str, Any]:
    """An import's status and progress; its report once it has finished."""
    view = get_run(request.app.state.engine, run_id)
    if view is None:
        raise NotFound(f"no import {run_id}", parameter="run_id")
    return view.to_dict()


@router.get("/{run_id}/rejected.csv", dependencies=[Depends(admin_only),
                                                    Depends(only_parameters())],
            response_class=Response, responses={404: {}})
def read_rejected_rows(run_id: str, request: Request) -> Response:
    """The rejected rows of a finished import, as a CSV to fix and upload again."""
    view = get_run(request.app.state.engine, run_id)
    if view is None or not view.run.rejected_csv:
        raise NotFound(f"no rejected rows for import {run_id}", parameter="run_id")
    headers = {"Content-Disposition": f'attachment; filename="import-{run_id[:8]}-rejected.csv"'}
    return Response(view.run.rejected_csv, media_type="text/csv; charset=utf-8", headers=headers)
