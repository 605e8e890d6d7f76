"""POST /api/imports and GET /api/imports[/{id}[/rejected.csv]]: auth, limits, background runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from import_helpers import MESSY, REGISTRIES, REPOSITORY, VARIANTS, alias_bomb
from postgres_cluster import BOTH_BACKENDS

from app.config import Settings
from app.importer.lock import acquire_import_lock
from app.main import create_app
from tests.browser import free_port

BACKENDS = BOTH_BACKENDS

TOKEN = "a-long-enough-admin-token"  # noqa: S105  (a test token)
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LIMIT = 64 * 1024


@pytest.fixture
def client(make_settings: Callable[..., Settings]) -> Iterator[TestClient]:
    """A started app with an admin token and a small upload limit."""
    settings = make_settings(admin_token=TOKEN, load_default_directory=False,
                             max_upload_bytes=LIMIT)
    with TestClient(create_app(settings)) as test_client:
        yield test_client
        _join_background_imports()


def _join_background_imports() -> None:
    """Wait for the import threads a test started (and their lock's heartbeat).

    A run reads "done" before its thread releases the lock: leaving the app then disposes
    the engine under the thread's last connection, which nothing would ever close.
    """
    for thread in threading.enumerate():
        if thread.name.startswith("import-"):
            thread.join(timeout=60)
            assert not thread.is_alive(), f"{thread.name} still running"


def upload(
    client: TestClient, *paths: Path, mode: str = "default", **fields: Any
) -> httpx.Response:
    """POST files to /api/imports."""
    files = [("files", (path.name, path.read_bytes(), "text/csv")) for path in paths]
    return client.post(f"/api/imports?mode={mode}", files=files, data=fields, headers=AUTH)


def finished(client: TestClient, run_id: str) -> dict[str, Any]:
    """Poll the run until it is no longer running; return its last state."""
    for _ in range(600):
        state: dict[str, Any] = client.get(f"/api/imports/{run_id}", headers=AUTH).json()
        if state["status"] != "running":
            return state
        time.sleep(0.05)
    raise AssertionError(f"import {run_id} still running")


def test_an_upload_is_imported_in_the_background_and_its_report_is_served(
    client: TestClient,
) -> None:
    response = upload(client, VARIANTS / "utf8-comma-lf.csv", MESSY / "cress-aura.csv")
    assert response.status_code == 202
    body = response.json()
    assert (body["status"], response.headers["location"]) == ("running",
                                                              f"/api/imports/{body['id']}")
    state = finished(client, body["id"])
    assert (state["status"], state["origin"], state["mode"]) == ("done", "http", "default")
    assert state["files"] == ["utf8-comma-lf.csv", "cress-aura.csv"]
    assert state["progress"] == {"rows_expected": 24, "rows_processed": 21,
                                 "rows_committed": 14, "batches_committed": 2}
    report = state["report"]
    assert (report["inserted"], report["rejected"], report["duplicate_in_run"]) == (14, 5, 2)
    assert state["has_rejected_rows"] is True
    listed = client.get("/api/imports", headers=AUTH).json()["imports"]
    assert [(run["id"], run["status"]) for run in listed] == [(body["id"], "done")]


def test_the_rejected_rows_come_back_as_a_csv_to_fix(client: TestClient) -> None:
    run_id = upload(client, MESSY / "cress-aura.csv").json()["id"]
    finished(client, run_id)
    response = client.get(f"/api/imports/{run_id}/rejected.csv", headers=AUTH)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    lines = response.text.splitlines()
    assert lines[0] == ("\ufeffrejected_file;rejected_line;rejected_field;rejected_reason;name;"
                        "street;postcode;city;lat;lon;siret;siren;rna;categories;website;email;"
                        "phone;legal_status")
    assert lines[1] == ("cress-aura.csv;4;name;a name is required;;3 rue Sans Nom;69002;Lyon;;;;;;"
                        "alimentation;;;;")
    assert len(lines) == 6


def test_a_dry_run_over_http_writes_no_structure(client: TestClient) -> None:
    run_id = upload(client, VARIANTS / "utf8-comma-lf.csv", mode="dry_run").json()["id"]
    state = finished(client, run_id)
    assert (state["mode"], state["report"]["inserted"], state["report"]["written"]) == (
        "dry_run", 4, False)
    features = client.get("/api/organisations").json()["features"]
    assert features == []


def test_a_mapping_file_and_a_source_can_be_uploaded(client: TestClient, tmp_path: Path) -> None:
    data = tmp_path / "adherents.csv"
    data.write_text("Adhérent;Lieu;CP\nAtelier;Lyon;69001\n", encoding="utf-8")
    mapping = ("mapping", ("m.yaml", b"columns:\n  Adherent: name\n  Lieu: city\n", "text/yaml"))
    files = [("files", ("adherents.csv", data.read_bytes(), "text/csv")), mapping]
    response = client.post("/api/imports", files=files, headers=AUTH,
                           data={"source": "cress", "default_category": "habitat"})
    report = finished(client, response.json()["id"])["report"]
    assert (report["inserted"], report["files"][0]["columns"]) == (
        1, {"Adhérent": "name", "Lieu": "city", "CP": "postcode"})


def test_a_preset_reads_a_registry_over_http(client: TestClient) -> None:
    rna = REGISTRIES / "rna_waldec_extrait.csv"
    files = [("files", (rna.name, rna.read_bytes(), "text/csv"))]
    response = client.post("/api/imports?preset=rna", files=files, headers=AUTH)
    report = finished(client, response.json()["id"])["report"]
    assert (report["inserted"], report["rejected"], report["files"][0]["columns"]["titre"]) == (
        3, 0, "name")
    every = client.get("/api/organisations", params={"status": "all"}).json()["features"]
    keys = [feature["properties"]["rna"] for feature in every]
    assert sorted(keys) == ["W133000022", "W691000011", "W751000033"]


def test_an_unknown_preset_or_one_with_a_mapping_is_refused(client: TestClient) -> None:
    files = [("files", ("a.csv", b"nom;commune\nAtelier;Lyon\n", "text/csv"))]
    unknown = client.post("/api/imports?preset=insee", files=files, headers=AUTH)
    both = client.post("/api/imports?preset=rna", headers=AUTH, files=[
        *files, ("mapping", ("m.yaml", b"columns: {nom: name}\n", "text/yaml"))])
    assert (unknown.status_code, unknown.json()["error"]["parameter"]) == (400, "preset")
    assert (both.status_code, both.json()) == (422, {"error": {
        "status": 422, "code": "invalid_body", "parameter": "mapping",
        "message": "a mapping file and a preset exclude each other"}})


@pytest.mark.parametrize(("mapping", "message"), [
    (alias_bomb(), "mapping: YAML anchors and aliases (& and *) are not accepted"),
    (b"columns: &c {Nom: name}\n", "mapping: YAML anchors and aliases (& and *) are not accepted"),
    (b"columns: " + b"[" * 9 + b"]" * 9, "mapping: nested deeper than 8 levels"),
    (b"columns: [\n", "mapping: not YAML or JSON: expected the node content, but found "
     "'<stream end>' (line 2, column 1)"),
])
def test_a_mapping_with_aliases_too_large_or_unreadable_is_refused_at_once(
    client: TestClient, tmp_path: Path, mapping: bytes, message: str
) -> None:
    files = [("files", ("a.csv", b"nom;commune\nAtelier;Lyon\n", "text/csv")),
             ("mapping", ("m.yaml", mapping, "text/yaml"))]
    response = client.post("/api/imports", files=files, headers=AUTH)
    assert (response.status_code, response.json()) == (422, {"error": {
        "status": 422, "code": "invalid_body", "message": message, "parameter": "mapping"}})
    assert client.get("/api/imports", headers=AUTH).json() == {"imports": []}


@pytest.mark.parametrize(("filename", "stored"), [
    ("a" * 252 + ".csv", "a" * 116 + ".csv"),
    ("é" * 200 + ".csv", "é" * 58 + ".csv"),
])
def test_a_very_long_file_name_is_cut_safely(
    client: TestClient, filename: str, stored: str
) -> None:
    files = [("files", (filename, b"nom;commune;secteur\nAtelier;Lyon;habitat\n", "text/csv"))]
    response = client.post("/api/imports", files=files, headers=AUTH)
    assert response.status_code == 202, response.text
    state = finished(client, response.json()["id"])
    assert (state["status"], state["files"], state["report"]["inserted"]) == ("done", [stored], 1)


def test_a_mapping_over_its_size_cap_is_refused(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(admin_token=TOKEN, load_default_directory=False)
    files = [("files", ("a.csv", b"nom;commune\nAtelier;Lyon\n", "text/csv")),
             ("mapping", ("m.yaml", b"columns:\n  Nom: name\n" + b"#" * LIMIT, "text/yaml"))]
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/imports", files=files, headers=AUTH)
    assert (response.status_code, response.json()) == (422, {"error": {
        "status": 422, "code": "invalid_body", "parameter": "mapping",
        "message": "mapping: larger than the limit of 65536 bytes"}})


def test_after_five_failed_authentications_a_client_gets_429_with_retry_after(
    client: TestClient,
) -> None:
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    statuses = [client.get("/api/imports", headers=wrong).status_code for _ in range(5)]
    assert statuses == [401] * 5
    for headers in (wrong, AUTH):
        response = client.get("/api/imports", headers=headers)
        assert (response.status_code, response.headers["retry-after"], response.json()) == (
            429, "10", {"error": {"status": 429, "code": "too_many_requests", "message":
                                  "too many failed admin authentications from this client; "
                                  "see Retry-After"}})
    other = TestClient(client.app, client=("192.0.2.7", 50000))
    assert other.get("/api/imports", headers=AUTH).status_code == 200


def test_a_limited_client_is_refused_before_routing(client: TestClient) -> None:
    wrong = {"Authorization": "Bearer not-the-admin-token"}
    for _ in range(5):
        client.get("/api/imports", headers=wrong)
    assert client.get("/api/imports/a/b/c", headers=AUTH).status_code == 429
    assert client.get("/api/organisations?limit=1").status_code == 200
    assert client.get("/api/nothing-here").status_code == 404


@pytest.mark.parametrize(("headers", "message"), [
    ({}, "missing admin token: send 'Authorization: Bearer <token>'"),
    ({"Authorization": "Bearer not-the-admin-token"}, "wrong admin token"),
    ({"Authorization": f"Basic {TOKEN}"},
     "missing admin token: send 'Authorization: Bearer <token>'"),
])
def test_admin_routes_refuse_a_missing_or_wrong_token(
    client: TestClient, headers: dict[str, str], message: str
) -> None:
    for method, path in (("POST", "/api/imports"), ("GET", "/api/imports"),
                         ("GET", "/api/imports/0123"), ("GET", "/api/imports/0123/rejected.csv")):
        response = client.request(method, path, headers=headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="ess-atlas admin"'
        assert response.json() == {"error": {"status": 401, "code": "unauthorized",
                                             "message": message}}


def test_admin_routes_are_closed_when_no_token_is_configured(
    make_settings: Callable[..., Settings]
) -> None:
    with TestClient(create_app(make_settings(load_default_directory=False))) as client:
        response = client.get("/api/imports", headers=AUTH)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == (
        "admin routes are disabled: no admin token is configured")


def test_an_upload_over_the_limit_is_413(client: TestClient) -> None:
    big = b"nom;commune\n" + b"Atelier;Lyon\n" * (LIMIT // 12)
    response = client.post("/api/imports", files={"files": ("big.csv", big, "text/csv")},
                           headers=AUTH)
    assert response.status_code == 413
    message = f"upload larger than the limit of {LIMIT} bytes"
    assert response.json() == {"error": {"status": 413, "code": "payload_too_large",
                                         "message": message}}


def test_a_second_import_while_one_runs_is_409(client: TestClient) -> None:
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with acquire_import_lock(engine, "c" * 32):
        response = upload(client, VARIANTS / "utf8-comma-lf.csv")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "conflict"
    assert error["message"].startswith(f"another import is running (run {'c' * 32}, process ")


def test_an_upload_without_files_is_422(client: TestClient) -> None:
    response = client.post("/api/imports", data={"source": "x"}, headers=AUTH)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == (
        "no file: send the CSV files in the multipart field 'files'")


def test_an_unknown_mode_or_parameter_is_400(client: TestClient) -> None:
    assert upload(client, VARIANTS / "utf8-comma-lf.csv", mode="fast").status_code == 400
    response = client.get("/api/imports?verbose=1", headers=AUTH)
    assert response.status_code == 400


def test_an_unknown_import_is_404(client: TestClient) -> None:
    response = client.get("/api/imports/0123", headers=AUTH)
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "no import 0123"


# --- a real server, to show the 413 comes before the body is read -----------------------


@pytest.fixture
def server(database_url: str) -> Iterator[int]:
    """A real uvicorn serving the app on loopback; yields its port."""
    port = free_port()
    environment = {**os.environ, "ESS_DATABASE_URL": database_url,
                   "ESS_ADMIN_TOKEN": TOKEN, "ESS_MAX_UPLOAD_BYTES": str(LIMIT),
                   "ESS_LOAD_DEFAULT_DIRECTORY": "false"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory", "--port", str(port),
         "--log-level", "warning"], env=environment, cwd=REPOSITORY)
    try:
        _wait_until_up(port)
        yield port
    finally:
        process.terminate()
        process.wait()


def _wait_until_up(port: int) -> None:
    for _ in range(300):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


def _send_headers(port: int, extra: str) -> socket.socket:
    connection = socket.create_connection(("127.0.0.1", port), timeout=30)
    connection.sendall((f"POST /api/imports HTTP/1.1\r\nHost: localhost\r\n"
                        f"Authorization: Bearer {TOKEN}\r\n"
                        "Content-Type: multipart/form-data; boundary=xyz\r\n"
                        f"{extra}\r\n").encode())
    return connection


def test_a_declared_size_over_the_limit_is_refused_before_any_body_byte_is_sent(
    server: int,
) -> None:
    with _send_headers(server, "Content-Length: 1073741824\r\n") as connection:
        answer = connection.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413 ")


def test_a_chunked_body_is_cut_off_once_it_passes_the_limit(server: int) -> None:
    # A well-formed start of a file part, then its content: the body is cut off for its
    # size, whatever size of pieces the server's parser hands on (not refused as malformed).
    start = (b'--xyz\r\nContent-Disposition: form-data; name="files"; filename="big.csv"\r\n'
             b"Content-Type: text/csv\r\n\r\nname;postcode\r\n")
    chunk = b"Structure;75001\r\n" * 1024
    with _send_headers(server, "Transfer-Encoding: chunked\r\n") as connection:
        connection.sendall(b"%x\r\n%s\r\n" % (len(start), start))
        sent = len(start)
        for _ in range(LIMIT // len(chunk) + 2):
            connection.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        # The server stops reading the body: it answers, then closes the connection.
        answer = _until_closed(connection).decode()
    assert sent > LIMIT
    assert answer.startswith("HTTP/1.1 413 ")
    assert answer.endswith("}")  # the whole error body, then the end of the connection


def _until_closed(connection: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a timeout fails)."""
    connection.settimeout(10)
    received = b""
    while piece := connection.recv(4096):
        received += piece
    return received
