"""SPEC §15 on every endpoint: identifiers, references (with "/" and "#"), free text, instants,
cursors, and the 1 MiB body limit — every refusal a 422 (or 413), never a 500, on both databases."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from creditlines.auth import service as auth
from creditlines.db.engine import UnitOfWork
from tests.api.conftest import eur
from tests.factories import make_reseller, make_world
from tests.harness import free_port

D = "/v1/distributors/actebis"
R = f"{D}/resellers/R-1"


@pytest.fixture
def world(api):
    make_reseller(api.uow, "R-1", 10_000)
    return api


def _problem(response, status: int, code: str = "validation_error") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code and body["status"] == status, body
    return body


# ---------------------------------------------------------------- references with "/" and "#"


@pytest.mark.parametrize(
    "reference, encoded", [("FA/2026/0042", "FA%2F2026%2F0042"), ("FA#12", "FA%2312"), ("FA/2026#3", "FA%2F2026%233")]
)
def test_a_reference_with_slash_or_hash_can_be_read_and_released(world, reference, encoded):
    drawn = world.post(f"{R}/drawings", "integration", json={"reference": reference, "amount": eur("1200.00")})
    assert drawn.status_code == 201, drawn.text
    read = world.get(f"{R}/drawings/{encoded}")
    assert read.status_code == 200, read.text
    assert read.json()["reference"] == reference
    paid = world.post(
        f"{R}/drawings/{encoded}/releases",
        "integration",
        json={"reference": "PAY/1#a", "amount": eur("1200.00"), "kind": "payment"},
    )
    assert paid.status_code == 201, paid.text
    assert paid.json()["status"] == "settled"
    listed = world.get(f"{R}/drawings", params={"limit": 1}).json()
    assert [d["reference"] for d in listed["items"]] == [reference]
    assert world.get(f"{R}/availability").json()["total_drawn"] == eur("0.00")


# ---------------------------------------------------------------- identifiers and free text

NUL, C1, DEL = "\x00", "\x85", "\x7f"


def _bodies(bad: str):
    """(method, path, who, json, params) with ``bad`` in one field of each kind."""
    programme = {
        "code": "mezz",
        "distributor_id": "actebis",
        "name": "Mezzanine",
        "kind": "standing",
        "line_limit": eur("5000.00"),
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    event = {
        "event_id": "EV-1",
        "reseller_id": "R-1",
        "vendor_id": "microsoft",
        "product_category": "office_oem",
        "amount": eur("1200.00"),
        "occurred_at": "2026-03-01T10:00:00+01:00",
    }
    return [
        (
            "POST",
            "/v1/distributors",
            "admin",
            {"id": "acme", "name": f"Acme{bad}", "currency": "EUR", "timezone": "Europe/Paris"},
            None,
        ),
        (
            "POST",
            "/v1/distributors",
            "admin",
            {"id": f"acme{bad}", "name": "Acme", "currency": "EUR", "timezone": "Europe/Paris"},
            None,
        ),
        (
            "POST",
            "/v1/distributors",
            "admin",
            {"id": "acme", "name": "Acme", "currency": "EUR", "timezone": f"Europe/Paris{bad}"},
            None,
        ),
        ("POST", "/v1/vendors", "admin", {"id": f"v{bad}", "name": "V"}, None),
        (
            "POST",
            "/v1/api-keys",
            "admin",
            {"role": "credit_officer", "distributor_id": "actebis", "label": f"desk{bad}"},
            None,
        ),
        ("POST", "/v1/api-keys", "admin", {"role": "credit_officer", "distributor_id": f"actebis{bad}"}, None),
        ("PUT", f"{D}/resellers/R-2", "officer", {"name": f"Bureau{bad}"}, None),
        ("PUT", f"{R}/base-limit", "officer", {"limit": eur("1.00"), "reason": f"cut{bad}"}, None),
        ("POST", f"{R}/hold", "officer", {"reason": f"late{bad}"}, None),
        ("POST", f"{R}/termination", "officer", {"reason": f"gone{bad}"}, None),
        ("POST", f"{R}/eligibility", "integration", {"amount": eur("1.00"), "vendor_id": f"hp{bad}"}, None),
        ("POST", f"{R}/drawings", "integration", {"reference": f"SO{bad}", "amount": eur("1.00")}, None),
        (
            "POST",
            f"{R}/drawings",
            "integration",
            {"reference": "SO-1", "amount": eur("1.00"), "vendor_id": f"hp{bad}"},
            None,
        ),
        (
            "POST",
            f"{R}/drawings/SO-0/releases",
            "integration",
            {"reference": f"P{bad}", "amount": eur("1.00"), "kind": "payment"},
            None,
        ),
        ("GET", f"{R}/availability", "officer", None, {"as_of": f"2026-03-01T10:00:00+01:00{bad}"}),
        ("GET", f"{D}/resellers", "officer", None, {"cursor": f"abc{bad}"}),
        ("POST", "/v1/vendors/microsoft/programmes", "partner", {**programme, "name": f"Mezz{bad}"}, None),
        ("POST", "/v1/vendors/microsoft/programmes", "partner", {**programme, "code": f"mezz{bad}"}, None),
        (
            "POST",
            "/v1/vendors/microsoft/programmes",
            "partner",
            {
                **programme,
                "kind": "purchase_triggered",
                "line_duration_months": 6,
                "trigger": {"product_category": f"oem{bad}", "min_amount": eur("1.00")},
            },
            None,
        ),
        ("PATCH", "/v1/vendors/microsoft/programmes/mezz@actebis", "partner", {"name": f"M{bad}"}, None),
        (
            "POST",
            "/v1/vendors/microsoft/programmes/mezz@actebis/enrolments",
            "partner",
            {"resellers": [{"reseller_id": f"R-1{bad}"}]},
            None,
        ),
        ("POST", f"{D}/purchase-events", "integration", {**event, "event_id": f"EV{bad}"}, None),
        ("POST", f"{D}/purchase-events", "integration", {**event, "reseller_id": f"R-1{bad}"}, None),
        ("POST", f"{D}/purchase-events", "integration", {**event, "product_category": f"oem{bad}"}, None),
        ("POST", f"{D}/purchase-events", "integration", {**event, "occurred_at": f"2026-03-01T10:00:00Z{bad}"}, None),
    ]


@pytest.mark.parametrize("bad", [NUL, C1, DEL, "\t", "\n"], ids=["NUL", "C1", "DEL", "tab", "newline"])
def test_control_characters_are_refused_in_every_kind_of_field(world, bad):
    for method, path, who, body, params in _bodies(bad):
        response = world.request(method, path, who, json=body, params=params)
        _problem(response, 422)


def test_a_lone_surrogate_is_refused_not_a_500(world):
    # Python's json accepts "\ud800"; no database can store it as UTF-8.
    raw = b'{"reference": "SO-\\ud800", "amount": {"amount": "1.00", "currency": "EUR"}}'
    _problem(world.post(f"{R}/drawings", "integration", content=raw, headers={"Content-Type": "application/json"}), 422)
    raw = b'{"name": "Bureau \\udfff"}'
    _problem(world.put(f"{D}/resellers/R-2", content=raw, headers={"Content-Type": "application/json"}), 422)


@pytest.mark.parametrize("segment", ["R%00", "R%201", "R;1", "R%2F1", "%C3%A9", "R" * 65, "R%851", "R%ED%A0%80"])
def test_bad_identifiers_in_paths_are_422(world, segment):
    _problem(world.get(f"{D}/resellers/{segment}", "admin"), 422)
    _problem(world.get(f"{R}/drawings/SO%00{segment}", "admin"), 422)
    _problem(world.get(f"/v1/distributors/{segment}/resellers", "admin"), 422)
    _problem(world.get(f"/v1/vendors/microsoft/programmes/{segment}@actebis", "admin"), 422)
    _problem(world.get(f"/v1/vendors/{segment}/programmes", "admin"), 422)
    _problem(world.delete(f"/v1/api-keys/{segment}", "admin"), 422)


def test_the_spec_alphabet_is_accepted_everywhere(world):
    assert (
        world.post(
            "/v1/distributors",
            "admin",
            json={"id": "Acme.FR:2", "name": "Acme", "currency": "EUR", "timezone": "Europe/Paris"},
        ).status_code
        == 201
    )
    assert world.post("/v1/vendors", "admin", json={"id": "MSFT@emea", "name": "Microsoft EMEA"}).status_code == 201
    rid = "Cust.42:FR@lyon_x-1"
    assert world.put(f"{D}/resellers/{rid}", json={"name": "Bureau Vallée Lyon — Part-Dieu"}).status_code == 201
    assert world.get(f"{D}/resellers/{rid}").json()["id"] == rid
    reference = "FA/2026#0042.a:b@c_d-" + "x" * 79
    assert len(reference) == 100
    assert (
        world.put(f"{D}/resellers/{rid}/base-limit", json={"limit": eur("10.00"), "reason": "opening"}).status_code
        == 200
    )
    assert (
        world.post(
            f"{D}/resellers/{rid}/drawings", "integration", json={"reference": reference, "amount": eur("1.00")}
        ).status_code
        == 201
    )
    assert (
        world.post(
            f"{D}/resellers/{rid}/drawings", "integration", json={"reference": reference + "y", "amount": eur("1.00")}
        ).status_code
        == 422
    )


def test_at_signs_stay_out_of_distributor_ids_and_programme_codes(world):
    """A programme id is <code>@<distributor_id>: it must read one way only."""
    _problem(
        world.post(
            "/v1/distributors", "admin", json={"id": "a@b", "name": "A", "currency": "EUR", "timezone": "Europe/Paris"}
        ),
        422,
    )
    _problem(
        world.post(
            "/v1/vendors/microsoft/programmes",
            "partner",
            json={
                "code": "m@x",
                "distributor_id": "actebis",
                "name": "M",
                "kind": "standing",
                "line_limit": eur("1.00"),
                "starts_on": "2026-01-01",
                "ends_on": "2026-12-31",
            },
        ),
        422,
    )
    _problem(
        world.post(
            f"{D}/purchase-events",
            "integration",
            json={
                "event_id": "EV/1",
                "reseller_id": "R-1",
                "vendor_id": "microsoft",
                "product_category": "oem",
                "amount": eur("1.00"),
                "occurred_at": "2026-03-01T10:00:00Z",
            },
        ),
        422,
    )


# ---------------------------------------------------------------- instants and days

OUT_OF_RANGE = [
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-05:00",
    "1899-12-31T23:59:59Z",
    "2201-01-01T00:00:00Z",
    "1900-01-01T00:30:00+01:00",
    "2026-03-01",
    "2026-03-01T10:00:00",
    "now",
]


@pytest.mark.parametrize("instant", OUT_OF_RANGE)
def test_instants_outside_1900_2200_or_without_offset_are_422(world, instant):
    _problem(world.get(f"{R}/availability", params={"as_of": instant}), 422)
    _problem(
        world.post(
            f"{D}/purchase-events",
            "integration",
            json={
                "event_id": "EV-1",
                "reseller_id": "R-1",
                "vendor_id": "microsoft",
                "product_category": "oem",
                "amount": eur("1.00"),
                "occurred_at": instant,
            },
        ),
        422,
    )


def test_the_bounds_themselves_are_accepted(world):
    # Before the reseller existed: 404 (see DECISIONS), i.e. the instant itself was accepted.
    _problem(world.get(f"{R}/availability", params={"as_of": "1900-01-01T00:00:00Z"}), 404, "not_found")
    assert world.get(f"{R}/availability", params={"as_of": "2200-12-31T23:59:59.999999Z"}).status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "1899-12-31", "2201-01-01", "9999-12-31"])
def test_days_outside_1900_2200_are_422(world, day):
    programme = {
        "code": "mezz",
        "distributor_id": "actebis",
        "name": "Mezzanine",
        "kind": "standing",
        "line_limit": eur("5000.00"),
        "starts_on": "2026-01-01",
        "ends_on": "2026-12-31",
    }
    create = world.post("/v1/vendors/microsoft/programmes", "partner", json={**programme, "ends_on": day})
    _problem(create, 422)
    _problem(world.post("/v1/vendors/microsoft/programmes", "partner", json={**programme, "starts_on": day}), 422)
    assert world.post("/v1/vendors/microsoft/programmes", "partner", json=programme).status_code == 201
    _problem(
        world.request("PATCH", "/v1/vendors/microsoft/programmes/mezz@actebis", "partner", json={"ends_on": day}), 422
    )
    _problem(world.post("/v1/jobs/expiry", "admin", json={"as_of": day}), 422)


# ---------------------------------------------------------------- cursors


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


FORGED = [
    "!!!",
    "a" * 501,
    "a",
    "%00",
    _b64(b"\xff\xfe"),
    _b64(b"[]"),
    _b64(b"null"),
    _b64(b'{"k": 1e999}'),
    _b64(b'{"k": 100000000000000000000000000000}'),
    _b64(b'{"k": -1}'),
    _b64(b'{"k": true}'),
    _b64(b'{"k": 1.5}'),
    _b64(b'{"k": "R\\u0000"}'),
    _b64(b'{"k": "x", "z": 1}'),
    _b64(b'{"k": {"a": 1}}'),
    _b64(b'{"k": ["R-1"]}'),
    _b64(b'{"k": ["R-1", 5]}'),
    _b64(b'{"k": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    _b64(b'{"k": "' + b"x" * 300 + b'"}'),
]
LISTINGS = [f"{D}/resellers", f"{R}/drawings", f"{R}/ledger", "/v1/vendors/microsoft/programmes/mezz@actebis/lines"]


def test_forged_cursors_are_422_on_every_listing(world):
    world.post(
        "/v1/vendors/microsoft/programmes",
        "partner",
        json={
            "code": "mezz",
            "distributor_id": "actebis",
            "name": "Mezzanine",
            "kind": "standing",
            "line_limit": eur("5000.00"),
            "starts_on": "2026-01-01",
            "ends_on": "2026-12-31",
        },
    )
    for path in LISTINGS:
        assert world.get(path, "admin").status_code == 200
        for cursor in FORGED:
            _problem(world.get(path, "admin", params={"cursor": cursor}), 422)


def test_cursors_of_each_listing_still_page_through(world):
    for n in range(3):
        make_reseller(world.uow, f"R-{n + 2}", 100)
        world.post(f"{R}/drawings", "integration", json={"reference": f"FA/{n}", "amount": eur("1.00")})
    for path, total in [(f"{D}/resellers", 4), (f"{R}/drawings", 3), (f"{R}/ledger", None)]:
        seen, cursor = [], None
        while True:
            page = world.get(path, params={"limit": 1, **({"cursor": cursor} if cursor else {})})
            assert page.status_code == 200, page.text
            seen += page.json()["items"]
            cursor = page.json()["next_cursor"]
            if cursor is None:
                break
        assert total is None or len(seen) == total
        assert len(seen) >= 3


# ---------------------------------------------------------------- no 5xx, whatever the path holds

BAD_SEGMENTS = ["%00", "%7F", "%C2%85", "%ED%A0%80", "%FF", "x" * 300, "..", "%2F%2F", "%25", "a%2Fb%2F..%2F"]


def test_no_route_answers_5xx_to_a_bad_path_segment(world):
    import re

    paths = world.client.get("/openapi.json").json()["paths"]
    routes = [
        (template, method.upper()) for template, operations in paths.items() if "{" in template for method in operations
    ]
    assert len(routes) >= 18
    for template, method in routes:
        for bad in BAD_SEGMENTS:
            path = re.sub(r"\{[^}]+\}", bad, template)
            response = world.request(method, path, "admin", json={})
            assert response.status_code < 500, (method, path, response.status_code, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), (method, path)


# ---------------------------------------------------------------- bodies above 1 MiB


def test_a_body_above_1_mib_is_413_payload_too_large(world):
    big = {"reference": "SO-1", "amount": eur("1.00"), "vendor_id": "x" * (1024 * 1024)}
    _problem(world.post(f"{R}/drawings", "integration", json=big), 413, "payload_too_large")
    # Streamed without a Content-Length (chunked): refused as soon as the count passes 1 MiB.
    chunks = (b"x" * 65536 for _ in range(40))
    _problem(
        world.post(f"{R}/drawings", "integration", content=chunks, headers={"Content-Type": "application/json"}),
        413,
        "payload_too_large",
    )
    assert (
        world.post(f"{R}/drawings", "integration", json={"reference": "SO-1", "amount": eur("1.00")}).status_code == 201
    )


def test_the_middleware_refuses_before_reading_the_body():
    """Pure ASGI: 8 MiB announced and 20 KiB available → 413 with not one byte read; streamed in
    64 KiB chunks → 413 after reading just past 1 MiB, never the rest."""
    from api.edge import MAX_BODY, BodyLimit

    async def app(scope, receive, send):  # reads the whole body, then answers 200
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    def call(headers, chunks):
        read = 0

        async def receive():
            nonlocal read
            chunk = chunks.pop(0)
            read += len(chunk)
            return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

        sent = []

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "raw_path": b"/", "headers": headers}
        asyncio.run(BodyLimit(app)(scope, receive, send))
        return sent[0]["status"], json.loads(sent[1]["body"]) if sent[0]["status"] != 200 else None, read

    status, body, read = call([(b"content-length", str(8 * MAX_BODY).encode())], [b"x" * 20480])
    assert (status, body["code"], read) == (413, "payload_too_large", 0)
    status, body, read = call([], [b"x" * 65536 for _ in range(128)])  # 8 MiB, chunked
    assert (status, body["code"]) == (413, "payload_too_large")
    assert MAX_BODY < read <= MAX_BODY + 65536
    status, _, read = call([], [b"x" * 65536 for _ in range(16)])  # exactly 1 MiB is allowed
    assert (status, read) == (200, MAX_BODY)


# ---------------------------------------------------------------- through a real server (uvicorn)


@pytest.fixture
def live(engine):
    """`creditlines serve` (uvicorn, httptools) on this test's database; yields (base url, ERP key)."""
    uow = UnitOfWork(engine)
    make_world(uow)
    make_reseller(uow, "R-1", 10_000)
    with uow.write() as s:
        _, key = auth.create_key(s, role="integration", distributor_id="actebis")
    port = free_port()
    env = {
        **os.environ,
        "CREDITLINES_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "CREDITLINES_NOW": "2026-03-02T09:00:00+00:00",
        "CREDITLINES_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "creditlines", "serve", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    try:
        yield base, port, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_references_with_slash_and_hash_through_uvicorn(live):
    base, _, key = live
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=10) as c:
        assert c.post(f"{R}/drawings", json={"reference": "FA/2026/0042", "amount": eur("700.00")}).status_code == 201
        assert c.post(f"{R}/drawings", json={"reference": "FA#7", "amount": eur("300.00")}).status_code == 201
        read = c.get(f"{R}/drawings/FA%2F2026%2F0042")
        assert read.status_code == 200 and read.json()["reference"] == "FA/2026/0042", read.text
        assert c.get(f"{R}/drawings/FA%237").json()["reference"] == "FA#7"
        paid = c.post(
            f"{R}/drawings/FA%2F2026%2F0042/releases",
            json={"reference": "VIR/2026/1", "amount": eur("700.00"), "kind": "payment"},
        )
        assert paid.status_code == 201 and paid.json()["status"] == "settled", paid.text
        # Unencoded, the slashes split the path: no such route (404), nothing else is touched.
        _problem(c.get(f"{R}/drawings/FA/2026/0042"), 404, "not_found")
        assert c.get(f"{R}/drawings/FA%252F2026%252F0042").status_code == 422


def _raw_exchange(port: int, head: bytes, body_parts) -> bytes:
    """Send ``head`` and then ``body_parts`` until the server answers; return what it answered.
    The body is never sent in full."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        sock.settimeout(0.05)
        answer = b""
        for part in body_parts:
            try:
                sock.sendall(part)
            except (BrokenPipeError, ConnectionResetError):
                break
            try:
                answer += sock.recv(65536)
            except TimeoutError:
                continue
            if answer:
                break
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def test_an_8_mib_body_is_413_before_it_is_sent(live):
    _, port, key = live
    path = f"{R}/drawings".encode()
    head = (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + key.encode()
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(8 * 1024 * 1024).encode()
        + b"\r\n\r\n"
    )
    answer = _raw_exchange(port, head, [b"x" * 65536])  # 64 KiB of 8 MiB
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"payload_too_large"' in answer

    head = (
        b"POST "
        + path
        + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        + key.encode()
        + b"\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
    answer = _raw_exchange(port, head, [chunk] * 128)  # up to 8 MiB, never the final 0-chunk
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"code":"payload_too_large"' in answer
