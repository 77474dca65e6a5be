"""The minimal baseline of the HTTP benchmarks: bare FastAPI + asyncpg doing the same reads
(the reseller's lines) and the same single-statement guarded update, on the same PostgreSQL,
with the same paths, so one wrk script drives both. Run: uvicorn scripts.bench.baseline_app:app"""

import os

import asyncpg
from fastapi import FastAPI, Request

app = FastAPI()
DSN = os.environ["BASELINE_DSN"]


@app.on_event("startup")
async def startup() -> None:
    app.state.pool = await asyncpg.create_pool(DSN, min_size=2, max_size=10)


@app.post("/v1/distributors/{d}/resellers/{r}/eligibility")
async def eligibility(d: str, r: str, request: Request):
    body = await request.json()
    amount = int(body["amount"]["amount"].replace(".", ""))
    async with app.state.pool.acquire() as c:
        rows = await c.fetch(
            "SELECT kind, limit_minor, drawn_minor, valid_until, status, usable_for FROM line "
            "WHERE distributor_id = $1 AND reseller_id = $2",
            d,
            r,
        )
    available = max(0, sum(row["limit_minor"] - row["drawn_minor"] for row in rows if row["status"] == "active"))
    return {"eligible": amount <= available, "available": str(available)}


@app.post("/v1/distributors/{d}/resellers/{r}/drawings", status_code=201)
async def drawing(d: str, r: str, request: Request):
    body = await request.json()
    amount = int(body["amount"]["amount"].replace(".", ""))
    async with app.state.pool.acquire() as c:
        drawn = await c.fetchval(
            "UPDATE line SET drawn_minor = drawn_minor + $1 WHERE distributor_id = $2 AND "
            "reseller_id = $3 AND kind = 'base' AND drawn_minor + $1 <= limit_minor "
            "RETURNING drawn_minor",
            amount,
            d,
            r,
        )
    return {"accepted": drawn is not None}
