"""What every resource's bodies share: strict request models, money in and out, the problem
document. Money is always {"amount": "<decimal string>", "currency"}; every identifier,
reference, free text, instant and day in a request uses the types of `creditlines.validation`
(SPEC §15), the same rules the services check."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from fastapi.openapi.models import Example
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from creditlines.money import Money, money_json, to_minor
from creditlines.validation import (
    Identifier,
)

Id = Identifier

# The ids of the demo (`creditlines demo`, creditlines/demo/scenario.py) that the examples of the
# OpenAPI document use, so that /docs shows bodies that work on it.
DEMO_DISTRIBUTOR = "actebis"
DEMO_VENDOR = "microsoft"
DEMO_PROGRAMME = "mezzanine@actebis"
DEMO_RESELLER = "AC-10178"  # an active reseller of Actebis with room on its base line
DEMO_OTHER_RESELLER = "AC-10205"  # another, not in Mezzanine
DEMO_DRAWING = "SO-2026-000123"  # the drawing of post_drawing's example, released by post_release's

Role = Literal["admin", "credit_officer", "integration", "partner_manager"]


def example(
    summary: str, value: Any, *, role: Role, refusal: tuple[int, str] | None = None, description: str | None = None
) -> Example:
    """A request body's example for /docs (an entry of the operation's `examples`). `x-role` names
    the key it is meant for; a refusal example carries `x-refusal` ({status, code}), the problem
    it is meant to show. tests/api/test_openapi_examples.py posts every one against the demo."""
    found: dict[str, Any] = {"summary": summary, "value": value, "x-role": role}
    if description:
        found["description"] = description
    if refusal:
        found["x-refusal"] = {"status": refusal[0], "code": refusal[1]}
    return cast(Example, found)


def eur(amount: str) -> dict[str, str]:
    """Money in an example: a decimal string and the demo's currency."""
    return {"amount": amount, "currency": "EUR"}


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
