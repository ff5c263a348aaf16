"""A customer's part in the key's campaign (design §12): opt-in, opt-out, the progress read, claim and delete.
The request and answer shapes; the rules are in ``engagement.services.participations``."""

from typing import Annotated

from django.http import HttpResponse
from ninja import Field, Path, Router
from pydantic import BaseModel, model_validator

from engagement.services.customers import CustomerIn
from engagement.services.participations import (
    claim,
    delete_instance,
    opt_in,
    opt_out,
    read_participation,
)
from interactions.models import Interaction

from .envelope import answers, entity_of, link, records, rendered, written
from .participation import SHAPES, ParticipationResponse, participation_entity
from .schemas import MAX_TAGS_SENT, Email, ExternalId, Mobile, Tag, Text

router = Router(tags=["engagement"])

CustomerId = Path(description="Your id for the customer: 1 to 200 characters, no slash, whitespace or control "
                  "character. A write makes the customer on first use.")
Reference = Annotated[Text, Field(min_length=1, max_length=100)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS_SENT)]
TAGS_DESCRIPTION = (
    f"Added to the customer's tags, never removed: each trimmed of spaces and lower-cased (\" VIP \" is \"vip\"), "
    f"at most {MAX_TAGS_SENT} a request and {MAX_TAGS_SENT} a customer."
)


class ObjectIn(BaseModel):
    """A JSON object, or for an optional body absent or null: a plain pydantic model, as ninja's Schema reads any
    value's attributes (a list or a number would pass as an object with every field omitted)."""

    @model_validator(mode="before")
    @classmethod
    def _an_object(cls, value):
        if not isinstance(value, dict):
            raise ValueError("Send a JSON object.")
        return value


class CustomerDetailsIn(ObjectIn):
    email: Email | None = None
    mobile: Mobile | None = None
    tags: Tags = Field(default_factory=list, description=TAGS_DESCRIPTION)


class CustomerWriteIn(ObjectIn):
    customer: CustomerDetailsIn | None = Field(None, description="What you know of the customer (optional).")
    reference: Reference | None = Field(
        None, description="Makes the write idempotent for this key: a replay answers 200 with the first body."
    )


class ClaimIn(ObjectIn):
    reference: Reference | None = Field(
        None, description="Makes the claim idempotent for this key (a second claim replays the first one anyway)."
    )


def customer_in(external_id: str, payload: CustomerWriteIn | None) -> CustomerIn:
    details = payload.customer if payload is not None else None
    if details is None:
        return CustomerIn(external_id)
    return CustomerIn(external_id, details.email or "", details.mobile or "", tuple(details.tags))


def _reference(payload) -> str | None:
    return payload.reference if payload is not None else None


PARTICIPATION = "$response.body#/participation/customer/external_id"
TO_PROGRESS = {"ReadTheProgress": link("getProgress", "The customer's progress.", external_id=PARTICIPATION)}
TO_CLAIM = {"ClaimTheReward": link("claimReward", "Claim once every goal is met.", external_id=PARTICIPATION)}
TO_DELETE = {"DeleteTheInstance": link("deleteInstance", "Delete (hide) it.", external_id=PARTICIPATION)}
PARTICIPATION_ANSWER = {201: ParticipationResponse, 200: ParticipationResponse}


def _participation_written(request, result, payload) -> HttpResponse:
    """A write's answer: 201 when the service made something new (a slot, a first claim), else 200."""
    return written(request, "participation", result, entity_of(result, SHAPES, part="participation"),
                   _reference(payload), created=not result.replayed and result.value.created)


@router.post(
    "/customers/{external_id}/opt_in",
    operation_id="optIn",
    **answers(
        PARTICIPATION_ANSWER, "campaign_not_live", "campaign_ended", "user_ineligible_for_campaign",
        "opt_in_not_started", "opt_in_ended", "opt_in_limit_reached", "idempotency_conflict",
        links={**TO_PROGRESS, **TO_CLAIM},
    ),
    summary="Opt a customer in",
    description="Checked in this order: the campaign is writable, the customer already opted in (200, no new "
    "slot), qualifies (its tags, these included), the opt-in window is open, a slot is left. 201 when the opt-in "
    "took a slot, 200 otherwise (also on a campaign that requires no opt-in: recorded, no window or limit).",
)
@records(Interaction.Kind.OPT_IN, created=True)
def opt_customer_in(request, external_id: ExternalId = CustomerId, payload: CustomerWriteIn | None = None):
    result = opt_in(request.auth, customer=customer_in(external_id, payload), draft=request.interaction_draft,
                    reference=_reference(payload))
    return _participation_written(request, result, payload)


@router.post(
    "/customers/{external_id}/opt_out",
    operation_id="optOut",
    **answers({200: ParticipationResponse}, "idempotency_conflict", links=TO_PROGRESS),
    summary="Opt a customer out",
    description="Always allowed: the customer's events stop counting; progress and outcomes are kept.",
)
@records(Interaction.Kind.OPT_OUT)
def opt_customer_out(request, external_id: ExternalId = CustomerId, payload: CustomerWriteIn | None = None):
    result = opt_out(request.auth, customer=customer_in(external_id, payload), draft=request.interaction_draft,
                     reference=_reference(payload))
    return _participation_written(request, result, payload)


@router.get(
    "/customers/{external_id}/progress",
    operation_id="getProgress",
    **answers({200: ParticipationResponse}, "not_found", links={**TO_CLAIM, **TO_DELETE}),
    summary="A customer's progress",
    description="The customer's participation in the key's campaign (a test key: its test participation), also "
    "after the campaign ended; a known customer without one gets its derived state and `instance: null`. An "
    "unknown customer is `not_found`.",
)
@records(Interaction.Kind.LOOKUP, checks_key=True)
def get_progress(request, external_id: ExternalId = CustomerId):
    view = read_participation(request.auth, external_id, draft=request.interaction_draft)
    return rendered(200, "participation", participation_entity(view))


@router.post(
    "/customers/{external_id}/claim",
    operation_id="claimReward",
    **answers(
        PARTICIPATION_ANSWER, "not_found", "campaign_not_live", "campaign_ended", "not_claimable", "out_of_vouchers",
        "pool_exhausted", "redeemer_limit_reached", "idempotency_conflict", links=TO_PROGRESS,
    ),
    summary="Claim the reward",
    description="A claimable participation becomes claimed, giving the claim's reward once (among `outcomes`, "
    "with `behavior_id` null): 201. A second claim answers 200 with the first claim's body. With the reward's "
    "stock empty it is refused (409) and stays claimable; in any other state, or outside the claim window, "
    "`not_claimable`.",
)
@records(Interaction.Kind.CLAIM, created=True)
def claim_reward(request, external_id: ExternalId = CustomerId, payload: ClaimIn | None = None):
    result = claim(request.auth, external_id=external_id, draft=request.interaction_draft,
                   reference=_reference(payload))
    return _participation_written(request, result, payload)


@router.delete(
    "/customers/{external_id}/instance",
    operation_id="deleteInstance",
    **answers({200: ParticipationResponse}, "not_found", "not_deletable", links=TO_PROGRESS),
    summary="Delete the customer's instance",
    description="A deletable participation (claimed, inactive or expired) becomes `deleted`: hidden, its events "
    "no longer count. Deleting again answers 200 as it is; in any other state, `not_deletable`.",
)
@records(Interaction.Kind.DELETION)
def delete_customer_instance(request, external_id: ExternalId = CustomerId):
    result = delete_instance(request.auth, external_id=external_id, draft=request.interaction_draft)
    return rendered(200, "participation", participation_entity(result.value.participation))
