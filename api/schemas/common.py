"""What every resource's bodies share: strict request models, money in and out, the problem
document. Money is always {"amount": "<decimal string>", "currency"}; every identifier,
reference, free text, instant and day in a request uses the types of `creditlines.validation`
(SPEC §15), the same rules the services check."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from creditlines.money import Money, money_json, to_minor
from creditlines.validation import (
    Identifier,
)

Id = Identifier


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MoneyIn(Strict):
    amount: Annotated[
        StrictStr,
        Field(
            max_length=40, examples=["5000.00"], description="A decimal string with at most the currency's minor digits"
        ),
    ]
    currency: Annotated[StrictStr, Field(max_length=10, examples=["EUR"])]


class MoneyOut(BaseModel):
    amount: str = Field(examples=["5000.00"])
    currency: str = Field(examples=["EUR"])

    @classmethod
    def of(cls, money: Money) -> MoneyOut:
        return cls.of_minor(to_minor(money), money.currency.code)

    @classmethod
    def of_minor(cls, minor: int, currency: str) -> MoneyOut:
        """The response model of ``creditlines.money.money_json``, from stored minor units."""
        return cls(**money_json(minor, currency))


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    available: MoneyOut | None = None
    shortfall: MoneyOut | None = None
