"""Bodies of payment terms, the overdue stop and the ageing report (SPEC §18)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from api.schemas.common import MoneyIn, MoneyOut, Strict

TermsDays = Annotated[StrictInt, Field(ge=0, le=365, description="Days from the invoice date to the due date")]


class OverdueStopIn(Strict):
    after_days: Annotated[StrictInt, Field(ge=0, le=365, description="Days overdue beyond which money counts")]
    min_amount: MoneyIn


class OverdueStopOut(BaseModel):
    after_days: int
    min_amount: MoneyOut


class StopInDecisionOut(BaseModel):
    """In an eligibility answer whose reasons hold `overdue_stop`: what stops it."""

    overdue: MoneyOut
    after_days: int
    min_amount: MoneyOut


class AgeingRowOut(BaseModel):
    outstanding: MoneyOut
    not_due: MoneyOut
    d1_30: MoneyOut = Field(alias="1_30")
    d31_60: MoneyOut = Field(alias="31_60")
    d61_90: MoneyOut = Field(alias="61_90")
    over_90: MoneyOut


class AgeingResellerOut(AgeingRowOut):
    reseller_id: str
    name: str


class AgeingFunderOut(AgeingRowOut):
    funder: str


class AgeingReportOut(BaseModel):
    distributor_id: str
    as_of: date
    currency: str
    source: str = Field(description="`live` (today or later: the balances) or `ledger` (a past date)")
    resellers: list[AgeingResellerOut]
    funders: list[AgeingFunderOut]
    totals: AgeingRowOut
