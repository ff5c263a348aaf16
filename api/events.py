"""``POST /api/v1/events`` (design §12): a customer's event, counted for the behaviour of its ``event_name``.
The request and answer shapes; the rules are in ``engagement.services.events``."""

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from engagement.rules import EVENT_FUTURE_LIMIT, EVENT_PAST_LIMIT, Reason
from engagement.services.customers import CustomerIn
from engagement.services.events import record_event
from interactions.models import Interaction

from .customers import TAGS_DESCRIPTION, Reference, Tags
from .envelope import answers, entity_of, link, records, rendered, written
from .participation import SHAPES, OutcomeOut, ParticipationOut
from .schemas import Email, EventName, ExternalId, Mobile, OccurredAt

router = Router(tags=["engagement"])

REASONS = tuple(Reason)


class EventCustomerIn(Schema):
    external_id: ExternalId = Field(
        description="Your id for the customer: 1 to 200 characters, no slash, whitespace or control character. "
        "The customer is made on first use."
    )
    email: Email | None = None
    mobile: Mobile | None = None
    tags: Tags = Field(default_factory=list, description=TAGS_DESCRIPTION + " Checked after they are added.")


class EventIn(Schema):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "customer": {"external_id": "cust-42", "tags": ["vip"]}, "event_name": "purchase",
        "reference": "order-1234",
    }]})

    customer: EventCustomerIn
    event_name: EventName = Field(description="The `event_name` of one of the campaign's behaviours.")
    occurred_at: OccurredAt | None = Field(
        None, description=f"When it happened; the server's time when absent. Refused (400) more than "
        f"{EVENT_PAST_LIMIT.total_seconds() / 3600:g} hours before the server's time or more than "
        f"{EVENT_FUTURE_LIMIT.total_seconds() / 60:g} minutes after it.",
    )
    reference: Reference = Field(
        description="Required: makes the event idempotent for this key. The same reference with the same body (as "
        "sent: an omitted `occurred_at` stays omitted) replays the first answer with 200; with another body it is "
        "`idempotency_conflict`. A refused event (out of stock) leaves the reference unused."
    )


class BehaviorCountOut(Schema):
    behavior_id: int
    counted: bool
    reason: Literal[REASONS] | None = Field(description="Why it did not count.")  # type: ignore[valid-type]
    progress: int
    goal: int
    achieved: int
    completed_now: bool = Field(description="This event made a completion.")


class EventOut(Schema):
    id: int | None = Field(description="The event's id; null for a dry run.")
    event_name: str
    occurred_at: datetime
    behaviors: list[BehaviorCountOut]
    outcome: OutcomeOut | None = Field(description="What the completion gave, if it gave something.")
    participation: ParticipationOut
    dry_run: bool = Field(description="True: what would happen; nothing was changed.")


class EventResponse(Schema):
    status: Literal["ok"]
    event: EventOut


TO_CUSTOMER = "$response.body#/event/participation/customer/external_id"


@router.post(
    "/events",
    operation_id="createEvent",
    **answers(
        {201: EventResponse, 200: EventResponse},
        "campaign_not_live", "campaign_ended", "unknown_event", "out_of_vouchers", "pool_exhausted",
        "redeemer_limit_reached", "idempotency_conflict",
        links={
            "ReadTheProgress": link("getProgress", "The customer's progress.", external_id=TO_CUSTOMER),
            "ClaimTheReward": link("claimReward", "Claim once every goal is met.", external_id=TO_CUSTOMER),
        },
    ),
    summary="Record an event",
    description="Counts the event for the behaviour of its `event_name` when the customer qualifies, opted in "
    "where the campaign requires it, its instance is triggerable, the time is in the earn window and the "
    "behaviour's limits allow it; an event that counts nothing is still 201, with the reason. At the goal a "
    "completion gives the behaviour's reward; with its stock empty the whole event is refused (409) and nothing "
    "advances. `?dry_run=true` answers what would happen (200, `dry_run` true) and changes nothing.",
)
@records(Interaction.Kind.EVENT, created=True, checks_key=True)
def create_event(request, payload: EventIn, dry_run: bool = Query(False, description="Only say what would happen.")):
    sent = payload.customer
    customer = CustomerIn(sent.external_id, sent.email or "", sent.mobile or "", tuple(sent.tags))
    result = record_event(
        request.auth, customer=customer, event_name=payload.event_name, occurred_at=payload.occurred_at,
        reference=payload.reference, draft=request.interaction_draft, dry_run=dry_run,
    )
    if dry_run:
        return rendered(200, "event", entity_of(result, SHAPES))
    return written(request, "event", result, entity_of(result, SHAPES), payload.reference)
