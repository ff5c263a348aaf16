"""The JSON API, ``/api/v1/`` (design §8): one NinjaAPI, the apps' routers, and one path every call takes.

Every operation runs through ``answer``: it finds the integration from the bearer key (none: 401 and no
interaction), opens the key's organization scope, refuses revoked keys and keys over their rate, runs
the operation, writes the request's one interaction unless the operation's own transaction did, and
puts ``X-Request-Id`` on the answer. Errors become the design's envelope in one place each.

An operation marked ``@records(..., checks_key=True)`` runs on the key's last lookup in this process, which its
first statement checks (``core.keys``): the answer stands only once that check passed, else the request runs
again on a fresh lookup, as any other.
"""

import json
import logging
import re
import time
import uuid
from functools import wraps
from itertools import accumulate

from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import re_path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from campaigns.models import Integration
from core.errors import DomainError, NotFound
from core.keys import StaleKey
from core.scoping import organization_scope
from interactions.models import Interaction
from interactions.services.log import InteractionDraft, Redeemer

from .awards import router as awards_router
from .campaign import router as campaign_router
from .customers import router as customers_router
from .envelope import status_of
from .events import router as events_router
from .keys import RateLimited, Unauthorized, admit, integration_and_requests, integration_for_key, note_key_used
from .pools import router as pools_router

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-Id"
# The API's bodies are a few hundred bytes, two levels deep; these bounds keep parsing cheap and the
# JSON parser clear of RecursionError.
MAX_BODY_BYTES = 64 * 1024
MAX_BODY_DEPTH = 32
INTERNAL_ERROR_MESSAGE = "Something went wrong on our side; quote the X-Request-Id if you contact us."
REQUEST_ID_PARAMETER = {
    "in": "header",
    "name": REQUEST_ID_HEADER,
    "required": False,
    "description": "Your id for this request: answered back and kept on its interaction (its first 100 "
    "characters). A new one is made when it is absent or empty.",
    "schema": {"type": "string"},
}
UNAVAILABLE_MESSAGE = (
    "The database failed while answering (a restart, a dropped connection): retry shortly. A write sent again with "
    "the same reference is never made twice."
)


class IntegrationKey(HttpBearer):
    """``Authorization: Bearer <integration key>``; ``answer`` looked the key up before the operation runs."""

    def authenticate(self, request: HttpRequest, token: str) -> Integration | None:
        draft = getattr(request, "interaction_draft", None)
        return draft.integration if draft is not None else None


class VoucherAPI(NinjaAPI):
    def _get_urls(self):
        """Ninja's URLs, then one for anything else under /api/v1/ (an unknown path, a path parameter of the
        wrong form): the API's own not_found rather than Django's HTML page."""
        return [*super()._get_urls(), re_path(r"", not_found, name="not-found")]

    def get_openapi_schema(self, **kwargs):
        """Ninja's document, with the X-Request-Id every request may send and every answer carries."""
        schema = super().get_openapi_schema(**kwargs)
        for path_item in schema["paths"].values():
            for operation in path_item.values():
                operation.setdefault("parameters", []).append(REQUEST_ID_PARAMETER)
                for status, response in operation["responses"].items():
                    headers = response.setdefault("headers", {})
                    headers[REQUEST_ID_HEADER] = {
                        "description": "The caller's own X-Request-Id when it sent one, else a new one.",
                        "schema": {"type": "string"},
                    }
                    if int(status) == 429:
                        headers["Retry-After"] = {
                            "description": "Seconds until the key's rate limit resets.",
                            "schema": {"type": "integer", "minimum": 1},
                        }
        return schema


api = VoucherAPI(
    title="Voucher admin API",
    version="1",
    description=(
        "Award vouchers, issue and redeem codes, engage customers (opt-in, events, progress, claim) and read your "
        "campaign with an integration key: `Authorization: Bearer <key>`.\n\n"
        f"A request body is JSON of at most {MAX_BODY_BYTES // 1024} KB ({MAX_BODY_BYTES} bytes), nested at most "
        f"{MAX_BODY_DEPTH} arrays or objects deep; a larger or deeper body is refused with 400 invalid_request "
        "naming the field `body`.\n\n"
        "Each key's requests per minute are limited (429 rate_limited, with Retry-After). The limit is best effort: "
        "while its store is unavailable, requests are served uncounted.\n\n"
        "Text fields and path parameters hold no control characters (U+0000 to U+001F, U+007F to U+009F) and no "
        "lone surrogates (`\\ud800`); such a value is refused with 400 invalid_request naming its field. "
        "Every answer lists, per HTTP status, the error codes it can carry; every error body is "
        '`{"status": "error", "error": {"code", "message", "fields"}}`.'
    ),
    urls_namespace="api-v1",
    auth=IntegrationKey(),
)


# --- one path for every call ------------------------------------------------------------------------


def answer(run):
    """Wraps an operation's ``run`` (auth, validation, view, error handlers) with the call's bookkeeping."""
    view = run.__self__.view_func
    kind = getattr(view, "interaction_kind", None)
    if kind is None:
        raise ImproperlyConfigured(f"API operation {view.__name__} must name its interaction kind with @records().")
    success_status = view.success_status
    checks_key = view.checks_key

    @wraps(run)
    def handle(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        started = time.perf_counter()
        request_id = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
        try:
            response = _answer(request, run, args, kwargs, kind=kind, success_status=success_status,
                               request_id=request_id, started=started, checks_key=checks_key)
        except Exception as error:  # the database failed outside the operation (key lookup, the log itself)
            logger.exception("API request failed (request id %s)", request_id)
            response = error_response(unexpected(error))
        response[REQUEST_ID_HEADER] = request_id
        return response

    return handle


def _answer(
    request: HttpRequest, run, args, kwargs, *, kind: str, success_status: int, request_id: str, started: float,
    checks_key: bool,
) -> HttpResponse:
    key = _bearer_token(request)
    integration, requests = integration_and_requests(key, last_lookup_will_do=checks_key)
    call = (request, run, args, kwargs, kind, success_status, request_id, started)
    try:
        return _served(*call, integration, requests) if integration else _unauthorized()
    except StaleKey:  # run on the key's last lookup, which has changed since: nothing was written
        integration = integration_for_key(key)
        return _served(*call, integration, requests) if integration else _unauthorized()


def _unauthorized() -> HttpResponse:
    return error_response(Unauthorized("Send a valid integration key: Authorization: Bearer <key>."))


def _served(request: HttpRequest, run, args, kwargs, kind: str, success_status: int, request_id: str,
            started: float, integration: Integration, requests) -> HttpResponse:
    draft = InteractionDraft(integration=integration, kind=kind, success_status=success_status,
                             request_id=request_id, started=started)
    request.interaction_draft = draft
    check = getattr(integration, "key_check", None)
    with organization_scope(integration.campaign.organization):
        try:
            admit(integration, requests, note_use=check is None)
        except DomainError as error:
            if check is not None:
                raise StaleKey from error  # a refusal is decided on a fresh lookup
            response = on_domain_error(request, error)
        except Exception as error:  # noqa: BLE001  (the key's bookkeeping failed: answered and logged as any call)
            response = on_unexpected(request, error)
        else:
            refusal = _body_refusal(request)
            response = on_domain_error(request, refusal) if refusal else run(request, *args, **kwargs)
        if check is not None:
            if not check.passed:  # answered before any statement checked the key (refused, invalid): afresh
                raise StaleKey
            try:
                note_key_used(integration, timezone.now())
            except Exception:  # bookkeeping after the answer was written: the answer stands
                logger.exception("Noting the key's use failed (request id %s)", request_id)
        if not draft.written:
            if draft.redeemer is None and draft.outcome != Interaction.Outcome.SUCCESS:
                draft.redeemer = _redeemer_from_body(request)
            draft.write(http_status=response.status_code)
    return response


api.add_decorator(answer, mode="view")  # ninja's "view" mode wraps Operation.run, auth and validation included


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    return key.strip() if scheme.lower() == "bearer" else ""


# A string to its closing quote, or to the end when unterminated: one pass, no backtracking.
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _body_refusal(request: HttpRequest) -> DomainError | None:
    """Why the body is refused before anything parses it (too large, nested too deep), else None."""
    if not hasattr(request, "_body_refusal"):
        request._body_refusal = _check_body(request)
    return request._body_refusal


def _check_body(request: HttpRequest) -> DomainError | None:
    too_large = DomainError(
        f"The body is too large: send at most {MAX_BODY_BYTES} bytes.",
        fields={"body": [f"Larger than {MAX_BODY_BYTES} bytes."]},
    )
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_BODY_BYTES:
        return too_large  # refused unread
    try:
        body = request.body
    except RequestDataTooBig:
        return too_large
    if len(body) > MAX_BODY_BYTES:
        return too_large
    # Brackets outside strings; an unbalanced body is left to the parser to call malformed.
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if max(accumulate(_DEPTH_STEP[byte] for byte in brackets), default=0) > MAX_BODY_DEPTH:
        return DomainError(
            f"The body is nested too deep: at most {MAX_BODY_DEPTH} arrays or objects.",
            fields={"body": [f"Nested deeper than {MAX_BODY_DEPTH} levels."]},
        )
    return None


def _json_body(request: HttpRequest):
    if _body_refusal(request) is not None:
        return None
    try:
        return json.loads(request.body)
    except ValueError:
        return None


def _redeemer_from_body(request: HttpRequest) -> Redeemer | None:
    """For the log of a refused request: the redeemer as sent, when the body names one."""
    body = _json_body(request)
    redeemer = body.get("redeemer") if isinstance(body, dict) else None
    if not isinstance(redeemer, dict):
        return None
    given = {name: redeemer.get(name) for name in ("mobile", "email", "external_id")}
    return Redeemer(**{name: value for name, value in given.items() if isinstance(value, str)})


# --- errors ---------------------------------------------------------------------------------------


class InternalError(DomainError):
    """The answer to anything unexpected (never raised: the handler of every other exception answers it)."""

    code = "internal_error"


class ServiceUnavailable(DomainError):
    """The answer when the database failed under the request (never raised, as InternalError): retryable."""

    code = "service_unavailable"


def unexpected(error: Exception) -> DomainError:
    """The answer to an exception no handler knows: the database's connection-level failures (a terminated or
    restarted backend, a lost connection: Django's OperationalError and InterfaceError) are worth a retry."""
    if isinstance(error, OperationalError | InterfaceError):
        return ServiceUnavailable(UNAVAILABLE_MESSAGE)
    return InternalError(INTERNAL_ERROR_MESSAGE)


def error_response(error: DomainError) -> HttpResponse:
    body = {"status": "error", "error": {"code": error.code, "message": error.message, "fields": error.fields}}
    response = HttpResponse(json.dumps(body), status=status_of(error), content_type="application/json")
    if isinstance(error, RateLimited):
        response["Retry-After"] = str(error.retry_after)
    return response


@api.exception_handler(DomainError)
def on_domain_error(request: HttpRequest, error: DomainError) -> HttpResponse:
    draft = getattr(request, "interaction_draft", None)
    if draft is not None:
        draft.note_error(error.code, error.message, outcome=getattr(error, "outcome", Interaction.Outcome.ERROR))
    return error_response(error)


@api.exception_handler(NinjaValidationError)
def on_invalid_request(request: HttpRequest, error: NinjaValidationError) -> HttpResponse:
    if request.method == "POST" and not isinstance(_json_body(request), dict):
        return on_domain_error(request, DomainError("Send a JSON object.", fields={"body": ["Not a JSON object."]}))
    fields: dict[str, list[str]] = {}
    for problem in error.errors:
        location = [str(part) for part in problem.get("loc", ())]
        if location[:1] == ["body"]:
            location = location[2:]  # "body" and the operation's payload argument
        elif location:
            location = location[1:]  # "query", "path", "header"
        message = str(problem.get("msg", "Invalid.")).removeprefix("Value error, ")
        fields.setdefault(".".join(location) or "body", []).append(message)
    names = ", ".join(fields)
    return on_domain_error(request, DomainError(f"Check these fields: {names}.", fields=fields))


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    if error.status_code == 401:
        return on_domain_error(request, Unauthorized(str(error)))
    if error.status_code == 404:
        return on_domain_error(request, NotFound(str(error)))
    # Ninja raises 400 for a body it cannot parse.
    return on_domain_error(request, DomainError("The body is not valid JSON.", fields={"body": ["Malformed JSON."]}))


@csrf_exempt
def not_found(request: HttpRequest, *args, **kwargs) -> HttpResponse:
    response = error_response(NotFound("No such path in this API."))
    response[REQUEST_ID_HEADER] = request.headers.get(REQUEST_ID_HEADER) or uuid.uuid4().hex
    return response


@api.exception_handler(StaleKey)
def on_stale_key(request: HttpRequest, error: StaleKey) -> HttpResponse:
    raise error  # out of the operation, to ``_answer``, which runs the request again


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return on_domain_error(request, NotFound("Not found, or not reachable with this key."))


@api.exception_handler(Exception)
def on_unexpected(request: HttpRequest, error: Exception) -> HttpResponse:
    draft = getattr(request, "interaction_draft", None)
    # The id the answer carries, generated ones too: what a caller quotes finds this line.
    request_id = draft.request_id if draft is not None else request.headers.get(REQUEST_ID_HEADER, "")
    logger.exception("API request failed (request id %s)", request_id or "unknown")
    answer = unexpected(error)
    if draft is not None:
        draft.note_error(answer.code, f"{type(error).__name__}: {error}", outcome=Interaction.Outcome.EXCEPTION)
    return error_response(answer)


api.add_router("", awards_router)
api.add_router("", campaign_router)
api.add_router("", pools_router)
api.add_router("", customers_router)
api.add_router("", events_router)
