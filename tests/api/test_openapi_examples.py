"""The OpenAPI document shows an ERP integrator bodies that work, under names people use.

Every operation of /openapi.json with a request body carries examples (api/schemas/*.py, their
path parameters' in api/deps.py); each one is posted, as the document gives it, through the real
application against the demo (`creditlines demo`, size smoke) in a fresh copy of its SQLite
database, with the demo's key of the role the example names (`x-role`). It must answer 2xx, or
the refusal the example declares (`x-refusal`: status and problem code). A new endpoint with a
body and no working example fails here. SQLite only: the examples are the document's, the same on
both databases; the behaviour behind them is tested on both elsewhere.
"""

from __future__ import annotations

import asyncio
import re
import shutil
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console

from api.app import create_app
from creditlines import clock, demo
from creditlines.config import get_settings
from creditlines.db.engine import UnitOfWork, make_engine
from tests.conftest import DEFAULT_NOW

ROLE_KEYS = {
    "admin": "admin",
    "credit_officer": "officer_actebis",
    "integration": "erp_actebis",
    "partner_manager": "partner_microsoft",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def demo_db(sqlite_template: str, tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    """The demo of `creditlines demo --size smoke`, loaded once at the suite's fixed instant."""
    path = tmp_path_factory.mktemp("openapi-demo") / "demo.db"
    shutil.copyfile(sqlite_template, path)
    clock.set_now(DEFAULT_NOW)  # module-scoped: set before the autouse fixed_clock of the first test
    engine = make_engine(f"sqlite:///{path}")
    try:
        keys = demo.load(
            UnitOfWork(engine),
            size="smoke",
            if_empty=False,
            seed=2026,  # the seed `creditlines demo` uses
            database_url=f"sqlite:///{path}",
            progress=Console(file=StringIO()),
        )
    finally:
        engine.dispose()
    return path, keys


@pytest.fixture
def on_demo(demo_db, tmp_path, monkeypatch) -> Callable[[], Any]:
    """Opens a client on a fresh copy of the demo's database (one per example)."""
    source, keys = demo_db
    monkeypatch.setenv("CREDITLINES_SENDER", "false")
    get_settings.cache_clear()
    opened: list[tuple[TestClient, Any]] = []

    def open_copy() -> Demo:
        path = tmp_path / f"copy-{len(opened)}.db"
        shutil.copyfile(source, path)
        app = create_app(database_url=f"sqlite:///{path}")
        client = TestClient(app, raise_server_exceptions=False)  # no lifespan: the sender is off
        opened.append((client, app))
        return Demo(client, keys)

    yield open_copy
    for _client, app in opened:
        asyncio.run(app.state.hot.close())  # what the lifespan's end would do
        app.state.uow.dispose()
    get_settings.cache_clear()


class Demo:
    def __init__(self, client: TestClient, keys: dict[str, Any]):
        self.client = client
        self.keys = dict(keys)

    def call(self, method: str, path: str, role: str, body: Any = None) -> Any:
        key = self.keys[ROLE_KEYS.get(role, role)]
        return self.client.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in WRITE_METHODS | {"get", "head"}:
                yield path, method, operation


def body_examples(operation: dict[str, Any]) -> dict[str, Any]:
    return operation["requestBody"]["content"]["application/json"].get("examples", {})


def find(document: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    (found,) = [op for op in operations(document) if op[2]["operationId"] == operation_id]
    return found


def fill(path: str, operation: dict[str, Any], given: dict[str, str]) -> str:
    """The path with each parameter's example from the document (or one a set-up step gave)."""
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        if name in given:
            value = given[name]
        else:
            assert parameter.get("examples"), f"{operation['operationId']}: path parameter {name} has no example"
            value = next(iter(parameter["examples"].values()))["value"]
        path = path.replace("{" + name + "}", value.replace("/", "%2F").replace("#", "%23"))
    return path


def run_example(demo_: Demo, document: dict[str, Any], operation_id: str, name: str, given: dict[str, str]) -> Any:
    path, method, operation = find(document, operation_id)
    example = body_examples(operation)[name]
    return demo_.call(method.upper(), fill(path, operation, given), example["x-role"], example["value"])


# What an example rests on that the demo, as loaded, does not hold: steps taken through the API
# first (the document's own examples where they fit), giving the path parameters they create.
def _after_a_drawing(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    assert run_example(d, document, "post_drawing", "order", {}).status_code == 201
    return {}


def _after_a_hold(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    placed = run_example(d, document, "place_hold", "overdue", {})
    assert placed.status_code == 200, placed.text
    return {}


def _a_pending_limit_request(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    """Actebis asks a second officer for raises above EUR 100 and lets limits pass the insurer's
    cover; its officer asks for EUR 80,000; the examples are decided with another officer's key
    (the requester cannot decide)."""
    base = "/v1/distributors/actebis"
    policy = d.call(  # by the platform's operator: loosening by an officer would wait for another
        "PATCH",
        base,
        "admin",
        {"approval_threshold": {"amount": "100.00", "currency": "EUR"}, "base_cap_policy": "none"},
    )
    assert policy.status_code == 200, policy.text
    asked = d.call(
        "PUT",
        fill(base + "/resellers/{reseller_id}/base-limit", find(document, "put_base_limit")[2], {}),
        "credit_officer",
        {"limit": {"amount": "80000.00", "currency": "EUR"}, "reason": "new framework contract"},
    )
    assert asked.status_code == 202, asked.text
    second = d.call("POST", "/v1/api-keys", "admin", {"role": "credit_officer", "distributor_id": "actebis"})
    d.keys["officer_actebis"] = second.json()["key"]
    return {"request_id": asked.json()["id"]}


def _a_pending_nomination(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    """Actebis decides Microsoft's enrolments (admit_vendor's example) and Microsoft enrols two
    resellers in Mezzanine (enrol_resellers' example): nominations wait for Actebis."""
    assert run_example(d, document, "admit_vendor", "approval", {}).status_code in (200, 201)
    enrolled = run_example(d, document, "enrol_resellers", "two_resellers", {})
    assert enrolled.status_code == 200, enrolled.text
    pending = [r["nomination_id"] for r in enrolled.json()["results"] if r["outcome"] == "pending_approval"]
    assert pending, enrolled.text
    return {"nomination_id": pending[0]}


def _a_pending_policy_request(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    """The operator sets a EUR 5,000 threshold at Actebis; its officer asks to remove it (a loosening
    change: a policy request); the examples are decided with another officer's key."""
    base = "/v1/distributors/actebis"
    assert d.call("PATCH", base, "admin", {"approval_threshold": {"amount": "5000.00", "currency": "EUR"}}).is_success
    asked = d.call("PATCH", base, "credit_officer", {"approval_threshold": None})
    assert asked.status_code == 202, asked.text
    second = d.call("POST", "/v1/api-keys", "admin", {"role": "credit_officer", "distributor_id": "actebis"})
    d.keys["officer_actebis"] = second.json()["key"]
    return {"request_id": asked.json()["id"]}


def _in_default(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    """The example's reseller orders (post_drawing's example), then is declared in default
    (declare_default's example): a write-off has something to write off."""
    assert run_example(d, document, "post_drawing", "order", {}).status_code == 201
    declared = run_example(d, document, "declare_default", "insolvency", {})
    assert declared.status_code in (200, 201), declared.text
    return {}


def _an_open_claim(d: Demo, document: dict[str, Any]) -> dict[str, str]:
    """The demo's loss story leaves claims open at Actebis: the examples settle the first."""
    claims = d.call("GET", "/v1/distributors/actebis/claims", "credit_officer", None)
    assert claims.status_code == 200, claims.text
    open_ = [c["id"] for c in claims.json()["items"] if c["status"] == "open"]
    assert open_, claims.text
    return {"claim_id": open_[0]}


SET_UP: dict[str, Callable[[Demo, dict[str, Any]], dict[str, str]]] = {
    "post_release": _after_a_drawing,
    "lift_hold": _after_a_hold,
    "decide_limit_request": _a_pending_limit_request,
    "decide_nomination": _a_pending_nomination,
    "decide_policy_request": _a_pending_policy_request,
    "write_off": _in_default,
    "settle_claim": _an_open_claim,
}


def test_every_request_body_has_examples_that_work_on_the_demo(on_demo):
    first = on_demo()
    document = first.client.get("/openapi.json").json()
    with_body = [(p, m, op) for p, m, op in operations(document) if "requestBody" in op]
    assert len(with_body) >= 22
    results = []
    for _path, _method, operation in with_body:
        operation_id = operation["operationId"]
        examples = body_examples(operation)
        assert examples, f"{operation_id}: its request body has no example for /docs"
        assert any("x-refusal" not in e for e in examples.values()), f"{operation_id}: no example that works"
        for name, example in examples.items():
            assert example.get("summary") and example.get("x-role") in ROLE_KEYS, (operation_id, name)
            demo_ = on_demo()
            given = SET_UP[operation_id](demo_, document) if operation_id in SET_UP else {}
            response = run_example(demo_, document, operation_id, name, given)
            refusal = example.get("x-refusal")
            if refusal:
                ok = response.status_code == refusal["status"] and response.json().get("code") == refusal["code"]
            else:
                ok = 200 <= response.status_code < 300
            results.append((operation_id, name, response.status_code, ok, response.text[:300]))
    failed = [r for r in results if not r[3]]
    assert not failed, "\n".join(f"{op} / {name}: {status} {text}" for op, name, status, _, text in failed)


VERBS = {
    "admit", "check", "create", "decide", "delete", "end", "enrol", "get", "lift", "list", "patch", "place",
    "post", "put", "report", "revoke", "rotate", "run", "terminate", "cancel", "declare", "settle", "write",
}  # fmt: skip
SNAKE = re.compile(r"^[a-z]+(_[a-z0-9]+)*$")


def test_operation_ids_are_verb_phrases_for_people(tmp_path):
    """What a generated client names its functions: `check_eligibility`, not
    `eligibility_v1_distributors__distributor_id__resellers__reseller_id__eligibility_post`."""
    document = create_app(database_url=f"sqlite:///{tmp_path}/x.db").openapi()
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids)), "operation ids must be unique"
    for operation_id in ids:
        words = operation_id.split("_")
        assert SNAKE.match(operation_id), operation_id
        assert words[0] in VERBS, f"{operation_id}: not a verb phrase"
        assert "v1" not in words and "id" not in words and words[-1] not in WRITE_METHODS | {"get"}, operation_id
    assert {"check_eligibility", "post_drawing", "post_release", "list_resellers"} <= set(ids)
