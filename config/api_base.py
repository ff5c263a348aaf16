"""What every router of the JSON API (design §8) shares: the error envelope, how an operation documents
its error answers, and the marker naming the kind of interaction an operation writes.

Routers import this module; ``config.api`` imports the routers and runs every operation through one
handler (key, scope, rate limit, interaction, ``X-Request-Id``).
"""

import json
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from ninja import Field, Schema
from pydantic import AfterValidator


def _storable(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL characters are not allowed.")
    return value


# A string field of a request body: PostgreSQL text cannot hold NUL, so such a field is an invalid_request.
Text = Annotated[str, AfterValidator(_storable)]

ERROR_CODES = (
    "invalid_request",
    "unauthorized",
    "integration_revoked",
    "not_found",
    "campaign_not_live",
    "campaign_ended",
    "unknown_vendor",
    "out_of_vouchers",
    "redeemer_limit_reached",
    "idempotency_conflict",
    "issuance_not_allowed",
    "redemption_not_allowed",
    "pool_exhausted",
    "code_inactive",
    "code_not_issued",
    "already_redeemed",
    "rate_limited",
    "internal_error",
)

# Answers any operation may give: no or unknown key, revoked key, over the rate, a bug.
COMMON_ERROR_STATUSES = (401, 403, 429, 500)


class ErrorDetail(Schema):
    code: str = Field(description="What went wrong, one of: " + ", ".join(ERROR_CODES) + ".")
    message: str = Field(description="For people: what went wrong and what to do.")
    fields: dict[str, list[str]] = Field(description="For invalid_request: the fields at fault and why.")


class ErrorResponse(Schema):
    status: Literal["error"]
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[frozenset[int], type[Schema]]:
    """The ``response=`` entries documenting an operation's error answers, the common ones included."""
    return {frozenset((*statuses, *COMMON_ERROR_STATUSES)): ErrorResponse}


View = TypeVar("View", bound=Callable)


def records(kind: str) -> Callable[[View], View]:
    """Names the kind of interaction (``tracking.Interaction.Kind``) an API operation writes."""

    def mark(view: View) -> View:
        view.interaction_kind = kind
        return view

    return mark


def rendered(status: int, body: dict[str, Any]) -> HttpResponse:
    """A success answer a service built in its documented shape, rendered without validating it again.

    For hot paths only: the schemathesis test holds such answers to the OpenAPI document. Keys are sorted, so
    an answer replayed from storage (JSONB keeps no key order) is byte for byte the first one.
    """
    content = json.dumps(body, cls=DjangoJSONEncoder, sort_keys=True)
    return HttpResponse(content, status=status, content_type="application/json; charset=utf-8")
