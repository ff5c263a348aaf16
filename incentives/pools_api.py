"""Incentive pools over the JSON API (design §8, 003's shapes); the rules are in ``incentives.pools``."""

from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Router, Schema

from config.api_base import Text, error_responses, records, rendered
from tracking.models import Interaction
from tracking.services import Redeemer

from .pools import code_entity, issue_code, pool_entity, reachable_code, reachable_pool, redeem_code

router = Router(tags=["incentive pools"])


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


@router.get(
    "/pools/{int:pool_id}",
    response={200: PoolResponse, **error_responses(404)},
    summary="Read an incentive pool",
    description="The pool and its code counts, when it is linked to the key's campaign.",
)
@records(Interaction.Kind.LOOKUP)
def read_pool(request, pool_id: int):
    pool = reachable_pool(request.auth, pool_id)
    return rendered(200, {"status": "ok", "incentive_pool": pool_entity(pool)})


@router.post(
    "/pools/{int:pool_id}/issuances",
    response={201: IssuanceResponse, 200: IssuanceResponse, **error_responses(400, 404, 409)},
    summary="Issue a code",
    description="Issues one code of the pool to `external_issuee_id`: 201. A `reference` sent again by the same "
    "key replays the first answer with 200 and issues nothing.",
)
@records(Interaction.Kind.ISSUANCE)
def create_issuance(request, pool_id: int, payload: CodeEventIn):
    draft = request.interaction_draft
    draft.redeemer = Redeemer(external_id=payload.external_issuee_id)
    pool = reachable_pool(request.auth, pool_id)
    result = issue_code(
        pool, external_issuee_id=payload.external_issuee_id, integration=request.auth, draft=draft,
        reference=payload.reference,
    )
    if result.http_status == 200:
        draft.message = f"Replayed the first answer to reference {payload.reference!r}."
    return rendered(result.http_status, result.body)


@router.get(
    "/codes/{code}",
    response={200: CodeResponse, **error_responses(404)},
    summary="Read an incentive code",
    description="The code, found without its pool, when its pool is linked to the key's campaign.",
)
@records(Interaction.Kind.LOOKUP)
def read_code(request, code: str):
    found = reachable_code(request.auth, code)
    return rendered(200, {"status": "ok", "incentive_code": code_entity(found)})


@router.post(
    "/codes/{code}/redemptions",
    response={201: RedemptionResponse, 200: RedemptionResponse, **error_responses(400, 404, 409)},
    summary="Redeem a code",
    description="Redeems the code for `external_issuee_id`: 201. A `reference` sent again by the same key "
    "replays the first answer with 200 and redeems nothing.",
)
@records(Interaction.Kind.REDEMPTION)
def create_redemption(request, code: str, payload: CodeEventIn):
    draft = request.interaction_draft
    draft.redeemer = Redeemer(external_id=payload.external_issuee_id)
    found = reachable_code(request.auth, code)
    result = redeem_code(
        found, external_issuee_id=payload.external_issuee_id, integration=request.auth, draft=draft,
        reference=payload.reference,
    )
    if result.http_status == 200:
        draft.message = f"Replayed the first answer to reference {payload.reference!r}."
    return rendered(result.http_status, result.body)
