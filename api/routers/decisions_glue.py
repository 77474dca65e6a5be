"""What the resellers router needs of the credit decisions (the `202` of a base-limit raise),
in one import so that its edit stays one line."""

from api.decision_schemas import LimitRequestOut
from api.routers.decisions import pending_response
from creditlines.decisions.limit_requests import set_or_request

__all__ = ["LimitRequestOut", "pending_response", "set_or_request"]
