"""No input yields a 500 or a response that breaks the API's own schema (both databases).

Each operation of /openapi.json gets a bounded number of generated requests, valid
(positive) and invalid (negative), sent as the bootstrap admin so every route is reached.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.api.conftest import ADMIN_KEY, eur

EXAMPLES_PER_OPERATION = 10
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _aim(case):
    """Point about half of the generated paths at things that exist, so deeper code runs too."""
    params = case.path_parameters or {}
    if "distributor_id" in params:
        params["distributor_id"] = "actebis"
    if "reseller_id" in params and len(str(params["reseller_id"])) % 2 == 0:
        params["reseller_id"] = "R-1"
    if "reference" in params and len(str(params["reference"])) % 2 == 0:
        # Half of those times an invoice number with "/" and "#", percent-encoded as a client sends
        # it (schemathesis stores path parameters already quoted): it must be reachable.
        params["reference"] = "SO-1" if len(str(params["reference"])) % 4 == 0 else "FA%2F2026%231"


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=["valid", "invalid"])
def test_no_input_breaks_the_api(api, mode):
    api.put("/v1/distributors/actebis/resellers/R-1", json={"name": "R"})
    api.put("/v1/distributors/actebis/resellers/R-1/base-limit", json={"limit": eur("100000.00"), "reason": "open"})
    api.post("/v1/distributors/actebis/resellers/R-1/drawings", json={"reference": "SO-1", "amount": eur("100.00")})
    api.post(
        "/v1/distributors/actebis/resellers/R-1/drawings", json={"reference": "FA/2026#1", "amount": eur("100.00")}
    )
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 19
    exercised = 0
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            _aim(case)
            case.call_and_validate(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, checks=CHECKS)

        try:
            run()
            exercised += 1
        except Unsatisfiable:
            # An operation with nothing to get wrong (no parameters, no body) has no invalid input.
            assert mode is GenerationMode.NEGATIVE and not operation.body and not operation.query
    assert exercised >= 15
