"""Incentive pools over the JSON API (design §8, 003's shapes): the request and answer shapes and the
entities' URLs; the rules are in ``incentives.services.pools`` and ``incentives.services.issuance``."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Path, Router, Schema

from incentives.models import IncentiveCode, IncentivePool
from incentives.services.issuance import CodeEvent, issue_code, redeem_code
from incentives.services.pools import pool_counts, reachable_code, reachable_pool
from interactions.models import Interaction
from interactions.services.log import Redeemer

from .envelope import answers, link, records, rendered, written
from .schemas import PathText, Text

router = Router(tags=["incentive pools"])

# The path parameters: a pool's primary key, a code as stored (at most 255 characters; no "/", which ends it).
PoolId = Path(ge=1, le=2**63 - 1, description="The pool's id (its `id` in the pool entity).")
CodeParam = Path(min_length=1, max_length=255, description="The code, as issued.")


class CodeEventIn(Schema):
    external_issuee_id: Text = Field(min_length=1, max_length=200, examples=["user@mycompany.com"])
    reference: Text | None = Field(
        None, min_length=1, max_length=100, description="Makes the write idempotent for this key: a replay answers 200."
    )


class Link(Schema):
    id: int
    url: str


class CodeLink(Schema):
    code: str
    url: str


class PoolCodes(Schema):
    total: int
    issued: int
    remaining: int
    low_threshold: int
    max_characters: int


class Distribution(Schema):
    method: Literal["unique", "multi"]


class PoolOut(Schema):
    id: int
    name: str
    issuance_allowed: bool
    redemption_allowed: bool
    incentive_codes: PoolCodes
    distribution: Distribution
    notification_email_address: str
    created_at: datetime
    updated_at: datetime
    url: str


class Tally(Schema):
    total: int
    unique: int


class CodeOut(Schema):
    code: str
    active: bool
    issuances: Tally
    redemptions: Tally
    incentive_pool: Link
    created_at: datetime
    updated_at: datetime
    url: str


class CodeEventOut(Schema):
    id: int
    external_issuee_id: str
    issuee_id: UUID
    referring_application: str
    referring_application_ref_id: str
    incentive_code: CodeLink
    incentive_pool: Link
    created_at: datetime
    updated_at: datetime


class PoolResponse(Schema):
    status: Literal["ok"]
    incentive_pool: PoolOut


class CodeResponse(Schema):
    status: Literal["ok"]
    incentive_code: CodeOut


class IssuanceResponse(Schema):
    status: Literal["ok"]
    issuance: CodeEventOut


class RedemptionResponse(Schema):
    status: Literal["ok"]
    redemption: CodeEventOut


# --- the entities, as 003 shapes them -----------------------------------------------------------------------


def _url(kind: str, key: Any) -> str:
    return f"/api/v1/{kind}/{key}"


def pool_entity(pool: IncentivePool) -> dict[str, Any]:
    return {
        "id": pool.pk,
        "name": pool.name,
        "issuance_allowed": pool.issuance_allowed,
        "redemption_allowed": pool.redemption_allowed,
        "incentive_codes": {
            **pool_counts(pool),
            "low_threshold": pool.low_threshold,
            "max_characters": pool.max_characters,
        },
        "distribution": {"method": pool.distribution},
        "notification_email_address": pool.notification_email,
        "created_at": pool.created_at,
        "updated_at": pool.updated_at,
        "url": _url("pools", pool.pk),
    }


def code_entity(code: IncentiveCode) -> dict[str, Any]:
    return {
        "code": code.code,
        "active": code.active,
        "issuances": {"total": code.issued_count, "unique": code.issued_unique},
        "redemptions": {"total": code.redeemed_count, "unique": code.redeemed_unique},
        "incentive_pool": {"id": code.pool_id, "url": _url("pools", code.pool_id)},
        "created_at": code.created_at,
        "updated_at": code.updated_at,
        "url": _url("codes", code.code),
    }


def event_entity(event: CodeEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "external_issuee_id": event.external_issuee_id,
        "issuee_id": str(event.issuee_id),
        "referring_application": event.referring_application,
        "referring_application_ref_id": event.referring_application_ref_id,
        "incentive_code": {"code": event.code, "url": _url("codes", event.code)},
        "incentive_pool": {"id": event.pool_id, "url": _url("pools", event.pool_id)},
        "created_at": event.created_at,
        "updated_at": event.updated_at,
    }


# --- the operations -------------------------------------------------------------------------------------------


@router.get(
    "/pools/{int:pool_id}",
    operation_id="getPool",
    **answers({200: PoolResponse}, "not_found", links={
        "IssueACodeOfThisPool": link("createIssuance", "Issue a code of this pool.",
                                     pool_id="$response.body#/incentive_pool/id"),
    }),
    summary="Read an incentive pool",
    description="The pool and its code counts, when it is linked to the key's campaign.",
)
@records(Interaction.Kind.LOOKUP)
def read_pool(request, pool_id: int = PoolId):
    pool = reachable_pool(request.auth, pool_id)
    return rendered(200, "incentive_pool", pool_entity(pool))


@router.post(
    "/pools/{int:pool_id}/issuances",
    operation_id="createIssuance",
    **answers(
        {201: IssuanceResponse, 200: IssuanceResponse},
        "not_found", "campaign_not_live", "campaign_ended", "issuance_not_allowed", "pool_exhausted",
        "idempotency_conflict",
        links={
            "ReadTheIssuedCode": link("getCode", "The code issued.",
                                      code="$response.body#/issuance/incentive_code/code"),
            "RedeemTheIssuedCode": link("createRedemption", "Redeem the code issued.",
                                        code="$response.body#/issuance/incentive_code/code"),
            "ReadItsPool": link("getPool", "The pool it came from.",
                                pool_id="$response.body#/issuance/incentive_pool/id"),
        },
    ),
    summary="Issue a code",
    description="Issues one code of the pool to `external_issuee_id`: 201. A `reference` sent again by the same "
    "key replays the first answer with 200 and issues nothing.",
)
@records(Interaction.Kind.ISSUANCE, created=True)
def create_issuance(request, payload: CodeEventIn, pool_id: int = PoolId):
    draft = request.interaction_draft
    draft.redeemer = Redeemer(external_id=payload.external_issuee_id)
    pool = reachable_pool(request.auth, pool_id)
    result = issue_code(
        pool, external_issuee_id=payload.external_issuee_id, integration=request.auth, draft=draft,
        reference=payload.reference,
    )
    return written(request, "issuance", result, event_entity(result.value), payload.reference)


@router.get(
    "/codes/{code}",
    operation_id="getCode",
    **answers({200: CodeResponse}, "not_found", links={
        "RedeemThisCode": link("createRedemption", "Redeem this code.", code="$response.body#/incentive_code/code"),
        "ReadItsPool": link("getPool", "The code's pool.", pool_id="$response.body#/incentive_code/incentive_pool/id"),
    }),
    summary="Read an incentive code",
    description="The code, found without its pool, when its pool is linked to the key's campaign.",
)
@records(Interaction.Kind.LOOKUP)
def read_code(request, code: PathText = CodeParam):
    found = reachable_code(request.auth, code)
    return rendered(200, "incentive_code", code_entity(found))


@router.post(
    "/codes/{code}/redemptions",
    operation_id="createRedemption",
    **answers(
        {201: RedemptionResponse, 200: RedemptionResponse},
        "not_found", "campaign_not_live", "campaign_ended", "redemption_not_allowed", "code_inactive",
        "code_not_issued", "already_redeemed", "idempotency_conflict",
        links={
            "ReadTheRedeemedCode": link("getCode", "The code redeemed, with its counts.",
                                        code="$response.body#/redemption/incentive_code/code"),
        },
    ),
    summary="Redeem a code",
    description="Redeems the code for `external_issuee_id`: 201. A `reference` sent again by the same key "
    "replays the first answer with 200 and redeems nothing.",
)
@records(Interaction.Kind.REDEMPTION, created=True)
def create_redemption(request, payload: CodeEventIn, code: PathText = CodeParam):
    draft = request.interaction_draft
    draft.redeemer = Redeemer(external_id=payload.external_issuee_id)
    found = reachable_code(request.auth, code)
    result = redeem_code(
        found, external_issuee_id=payload.external_issuee_id, integration=request.auth, draft=draft,
        reference=payload.reference,
    )
    return written(request, "redemption", result, event_entity(result.value), payload.reference)
