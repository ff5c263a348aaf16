"""What every resource of the JSON API (design §8) shares: the error envelope and the HTTP status of each
error code, how an operation documents its answers, the marker naming the interaction an operation writes,
and the rendering of a success body.

Resources import this module; ``api.main`` imports the resources and runs every operation through one
handler (key, scope, rate limit, interaction, ``X-Request-Id``).
"""

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal, TypeVar

import orjson
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from ninja import Field, Schema

from core.errors import Conflict, DomainError
from core.plain import Shapes, plain
from interactions.services.idempotency import (
    Steps,
    Written,
    changed,
    datetime_from_json,
    field_types,
    from_record,
    kept_walk,
)
from interactions.services.log import replayed_message

# Every error code the API answers, with its HTTP status and when (design §8).
ERRORS: dict[str, tuple[int, str]] = {
    "invalid_request": (400, "malformed JSON, a body over the size or depth limit, missing or bad fields "
                             "(`fields` says which)"),
    "unauthorized": (401, "no key, or an unknown key"),
    "integration_revoked": (403, "the key's integration is revoked"),
    "not_found": (404, "no such pool, code or customer, or not reachable with this key"),
    "campaign_not_live": (409, "a live key while the campaign is pending"),
    "campaign_ended": (409, "the campaign is completed or archived"),
    "unknown_vendor": (422, "no vault linked to the campaign holds that vendor at all"),
    "out_of_vouchers": (409, "no available voucher of that type"),
    "redeemer_limit_reached": (409, "the campaign's max_awards_per_redeemer is reached for this redeemer"),
    "idempotency_conflict": (409, "the reference was used before with a different body"),
    "issuance_not_allowed": (409, "the pool does not allow issuing"),
    "redemption_not_allowed": (409, "the pool does not allow redeeming"),
    "pool_exhausted": (409, "no code left to issue"),
    "code_inactive": (409, "the code is not active"),
    "code_not_issued": (409, "a unique pool's code not issued yet"),
    "already_redeemed": (409, "a unique code redeemed before, or a multi code redeemed before by this issuee"),
    "unknown_event": (422, "no behaviour of the campaign has that `event_name`"),
    "user_ineligible_for_campaign": (409, "the customer does not qualify (lacks the campaign's qualify tag, or has "
                                          "its disqualify tag)"),
    "opt_in_not_started": (409, "the campaign's opt-in window has not opened yet"),
    "opt_in_ended": (409, "the campaign's opt-in window has closed"),
    "opt_in_limit_reached": (409, "every opt-in slot of the campaign is taken"),
    "not_claimable": (409, "the participation is not claimable (its state, or outside the claim window)"),
    "not_deletable": (409, "the participation's state does not allow deleting it"),
    "rate_limited": (429, "too many requests this minute for this key (see Retry-After)"),
    "internal_error": (500, "anything unexpected; quote the X-Request-Id"),
    "service_unavailable": (503, "the database failed under the request (a restart, a lost connection); retry, "
                                 "with the same `reference` for a write"),
}
ERROR_STATUSES = {code: status for code, (status, _) in ERRORS.items()}
ERROR_CODES = tuple(ERRORS)


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error: its code's, else 409 for a conflict and 400 for anything else."""
    return ERROR_STATUSES.get(error.code, 409 if isinstance(error, Conflict) else 400)


# Answers any operation may give: a body refused before parsing, no or unknown key, revoked key, over the rate, a bug,
# the database failing.
COMMON_ERROR_CODES = (
    "invalid_request", "unauthorized", "integration_revoked", "rate_limited", "internal_error", "service_unavailable",
)


class ErrorDetail(Schema):
    code: Literal[ERROR_CODES] = Field(description="What went wrong.")  # type: ignore[valid-type]
    message: str = Field(description="For people: what went wrong and what to do.")
    fields: dict[str, list[str]] = Field(description="For invalid_request: the fields at fault and why.")


class ErrorResponse(Schema):
    status: Literal["error"]
    error: ErrorDetail


def link(operation_id: str, description: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link: the operation a client can call next, its parameters taken from this answer."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


def answers(
    successes: dict[int, type[Schema]], *error_codes: str, links: dict[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """An operation's ``response=`` and ``openapi_extra=``: its success bodies (each with ``links`` to the
    operations its answer leads to), and for each error status the error envelope narrowed to the codes this
    operation can answer with it (the common ones included), each code explained."""
    by_status: dict[int, list[str]] = {}
    for code in dict.fromkeys((*COMMON_ERROR_CODES, *error_codes)):
        by_status.setdefault(ERROR_STATUSES[code], []).append(code)
    documented: dict[int, Any] = {
        status: {
            "description": "; ".join(f"`{code}`: {ERRORS[code][1]}" for code in codes) + ".",
            "content": {"application/json": {"schema": {
                "properties": {"error": {"properties": {"code": {"enum": codes}}}}
            }}},
        }
        for status, codes in by_status.items()
    }
    if links:
        documented.update({status: {"links": links} for status in successes})
    return {
        "response": {**successes, frozenset(by_status): ErrorResponse},
        "openapi_extra": {"responses": documented},
    }


View = TypeVar("View", bound=Callable)


def records(kind: str, *, created: bool = False, checks_key: bool = False) -> Callable[[View], View]:
    """Names the kind of interaction (``interactions.Interaction.Kind``) an API operation writes, and whether
    its success creates something (201; a replay of it answers 200). ``checks_key``: its first statement checks
    the key's last lookup (``core.keys``), so it may run on it."""

    def mark(view: View) -> View:
        view.interaction_kind = kind
        view.success_status = 201 if created else 200
        view.checks_key = checks_key
        return view

    return mark


def rendered(status: int, key: str, entity: dict[str, Any]) -> HttpResponse:
    """``{"status": "ok", key: entity}`` in its documented shape, rendered without validating it again.

    The schemathesis test holds such answers to the OpenAPI document. Keys are sorted and values encoded the
    one way (DjangoJSONEncoder's, datetimes included), so a result read back from an idempotency record renders
    byte for byte as the first one did. orjson writes it, in C.
    """
    content = orjson.dumps({"status": "ok", key: entity}, default=_ENCODER.default, option=_ANSWER_OPTIONS)
    return HttpResponse(content, status=status, content_type="application/json; charset=utf-8")


def entity_of(result: Written, shapes: Shapes | None = None, *, part: str | None = None) -> Any:
    """The entity of a write's result (of its field ``part``, if named): its plain value, ``shapes`` rendering
    their types their way. A replay's comes straight from the JSON its first write kept, revived only where it
    renders otherwise than kept (datetimes, shaped types): the same entity, without rebuilding the dataclasses."""
    if result.kept is None:
        return plain(result.value if part is None else getattr(result.value, part), shapes)
    kind, kept = result.result_type, result.kept
    if part is not None:
        kind, kept = field_types(kind)[part], kept[part]
    again = kept_walk(kind, _Rendering(tuple((shapes or {}).items())))
    return kept if again is None or kept is None else again(kept)


@dataclasses.dataclass(frozen=True)
class _Rendering:
    """Kept JSON as its entity renders (``kept_walk``): datetimes formatted as DjangoJSONEncoder formats them,
    ``shapes``' types revived and shaped; every other field as kept, and only the dicts on the way copied."""

    shapes: tuple[tuple[type, Callable[[Any], Any]], ...]

    def leaf(self, kind: Any) -> Callable[[Any], Any] | None:
        if kind is datetime:
            return lambda text: _ENCODER.default(datetime_from_json(text))
        shape = dict(self.shapes).get(kind)
        return None if shape is None else (lambda value: shape(from_record(kind, value)))

    def record(self, kind: type, fields: Steps) -> Callable[[dict[str, Any]], Any] | None:
        return None if not fields else (lambda value: changed(value, fields))


_ENCODER = DjangoJSONEncoder()
# Sorted keys; datetimes (and dates and times) handed to DjangoJSONEncoder, which formats them its own way; a
# dataclass refused there, as json.dumps refuses it (orjson would write its fields unsorted).
_ANSWER_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_NON_STR_KEYS)


def written(
    request, key: str, result: Written, entity: Any, reference: str | None, *, created: bool = True
) -> HttpResponse:
    """The answer to an idempotent write (a service's ``Written``): 201 for a new one that ``created`` something,
    200 for one that made nothing new and for a replay, whose interaction says so."""
    if result.replayed:
        request.interaction_draft.message = replayed_message(reference)
    return rendered(201 if created and not result.replayed else 200, key, entity)
