"""The ``participation`` entity of design §12 and the outcome inside it, as the API documents and renders them
(the values are ``engagement.services.views``'s; an award is §8's award entity, an issuance 003's)."""

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema

from core.plain import plain
from engagement.rules import Derived, State
from engagement.services.views import ParticipationView
from incentives.services.issuance import CodeEvent

from .awards import AwardOut
from .pools import CodeEventOut, event_entity

STATES = tuple(State)
DERIVED = tuple(Derived)


class CustomerOut(Schema):
    external_id: str
    email: str
    mobile: str
    tags: list[str] = Field(description="Trimmed and lower-cased, in order.")


class InstanceOut(Schema):
    state: Literal[STATES] = Field(description="The customer's state (events, opt-out, claim, admin).")  # type: ignore[valid-type]
    instance_state: Literal[STATES] = Field(  # type: ignore[valid-type]
        description="The system's lifecycle: `expired` at the campaign's or claim window's end, `deleted` on delete."
    )
    active: bool
    triggerable: bool = Field(description="Its events count.")
    claimable: bool
    is_deletable: bool
    has_expired: bool
    hidden: bool
    is_full: bool = Field(description="Every goal is met.")
    expires: datetime | None
    visible: bool = Field(description="Now is in the visible window: what a customer-facing app may show.")


class BehaviorOut(Schema):
    behavior_id: int
    external_id: str
    name: str
    event_name: str
    progress: int = Field(description="Events counted towards the next completion (this period's, with a period).")
    goal: int = Field(description="Events needed for a completion; 0: counted without end.")
    achieved: int = Field(description="Completions made.")
    completed: bool = Field(description="No completion is left to make.")
    max_times_repeatable: int | None = Field(description="Completions allowed; null: unlimited.")
    max_times_repeatable_per_period: int | None
    period: int | None = Field(description="Seconds.")
    min_time_between_events: int | None = Field(description="Seconds.")
    period_ends_at: datetime | None


class OutcomeOut(Schema):
    behavior_id: int | None = Field(description="The behaviour completed; null for the claim's reward.")
    type: Literal["voucher", "code"]
    award: AwardOut | None = Field(description="The voucher given (type `voucher`).")
    issuance: CodeEventOut | None = Field(description="The code issued (type `code`).")
    at: datetime


class ParticipationOut(Schema):
    campaign: str = Field(description="The campaign's external_id.")
    customer: CustomerOut
    qualified: bool
    opted_in: bool | None = Field(description="Null until the customer opted in or out.")
    state: Literal[DERIVED] = Field(description="The first that holds: completed, opted_out, "  # type: ignore[valid-type]
                                    "not_qualified, in_progress, opted_in, qualified.")
    instance: InstanceOut | None = Field(description="Null while the customer has no part in the campaign.")
    percent_complete: int = Field(ge=0, le=100)
    behaviors: list[BehaviorOut]
    outcomes: list[OutcomeOut]
    test: bool = Field(description="A test participation, made by a test key.")


class ParticipationResponse(Schema):
    status: Literal["ok"]
    participation: ParticipationOut


# How the entities of this module render: their values' fields one for one, but an issued code as 003's event.
SHAPES = {CodeEvent: event_entity}


def participation_entity(view: ParticipationView) -> dict[str, Any]:
    return plain(view, SHAPES)
