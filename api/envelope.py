"""What every resource of the JSON API (design §8) shares: the error envelope and the HTTP status of each
error code, how an operation documents its answers, the marker naming the interaction an operation writes,
and the rendering of a success body.

Resources import this module; ``api.main`` imports the resources and runs every operation through one
handler (key, scope, rate limit, interaction, ``X-Request-Id``).
"""

import json
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from ninja import Field, Schema

from core.errors import Conflict, DomainError

# Every error code the API answers, with its HTTP status (design §8).
ERROR_STATUSES = {
    "invalid_request": 400,
    "unauthorized": 401,
    "integration_revoked": 403,
    "not_found": 404,
    "campaign_not_live": 409,
    "campaign_ended": 409,
    "unknown_vendor": 422,
    "out_of_vouchers": 409,
    "redeemer_limit_reached": 409,
    "idempotency_conflict": 409,
    "issuance_not_allowed": 409,
    "redemption_not_allowed": 409,
    "pool_exhausted": 409,
    "code_inactive": 409,
    "code_not_issued": 409,
    "already_redeemed": 409,
    "rate_limited": 429,
    "internal_error": 500,
    "service_unavailable": 503,
}
ERROR_CODES = tuple(ERROR_STATUSES)


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error: its code's, else 409 for a conflict and 400 for anything else."""
    return ERROR_STATUSES.get(error.code, 409 if isinstance(error, Conflict) else 400)

# Answers any operation may give: no or unknown key, revoked key, over the rate, a bug, the database failing.
COMMON_ERROR_STATUSES = (401, 403, 429, 500, 503)


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


def records(kind: str, *, created: bool = False) -> Callable[[View], View]:
    """Names the kind of interaction (``interactions.Interaction.Kind``) an API operation writes, and whether
    its success creates something (201; a replay of it answers 200)."""

    def mark(view: View) -> View:
        view.interaction_kind = kind
        view.success_status = 201 if created else 200
        return view

    return mark


def rendered(status: int, key: str, entity: dict[str, Any]) -> HttpResponse:
    """``{"status": "ok", key: entity}`` in its documented shape, rendered without validating it again.

    The schemathesis test holds such answers to the OpenAPI document. Keys are sorted and values encoded the
    one way (DjangoJSONEncoder), so a result read back from an idempotency record renders byte for byte as the
    first one did.
    """
    content = json.dumps({"status": "ok", key: entity}, cls=DjangoJSONEncoder, sort_keys=True)
    return HttpResponse(content, status=status, content_type="application/json; charset=utf-8")


def written(request, key: str, result: Any, entity: dict[str, Any], reference: str | None) -> HttpResponse:
    """The answer to an idempotent write (a service's ``Written``): 201 for a new one, 200 for a replay, whose
    interaction says so."""
    if result.replayed:
        request.interaction_draft.message = f"Replayed the first answer to reference {reference!r}."
    return rendered(200 if result.replayed else 201, key, entity)
