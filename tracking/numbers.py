"""Tracking numbers (design §6): the inventory, provisioning, and the routing of incoming calls."""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from django.utils import timezone

from campaigns.services.statuses import ended, within_dates
from campaigns.status import ARCHIVE_AFTER
from core.errors import DomainError
from core.scoping import organization_scope
from interactions.models import Interaction

from .models import TrackingNumber
from .voice import Routing, number_state, twiml

logger = logging.getLogger(__name__)


def with_state(numbers: models.QuerySet[TrackingNumber], now: datetime | None = None) -> models.QuerySet:
    """Annotate ``state`` (dial / referral / not_in_service), the SQL twin of ``voice.number_state``."""
    now = now or timezone.now()
    active = within_dates(now, via="campaign__")
    referral = ended(now, via="campaign__") & models.Q(campaign__end_behavior="referral",
                                                      campaign__ends_at__gte=now - ARCHIVE_AFTER)
    return numbers.annotate(state=models.Case(
        models.When(active, then=models.Value(Routing.DIAL.value)),
        models.When(referral, then=models.Value(Routing.REFERRAL.value)),
        default=models.Value(Routing.NOT_IN_SERVICE.value),
        output_field=models.CharField(),
    ))


class NumberTaken(DomainError):
    code = "invalid_request"


def add_number(organization, *, number: str, forward_to: str, label: str = "", campaign=None) -> TrackingNumber:
    """A new number in the organization's inventory (or straight onto a campaign). Numbers are unique
    everywhere: one already held by any organization is refused without saying whose it is."""
    if TrackingNumber._base_manager.filter(number=number).exists():
        raise NumberTaken("This number is already in use.", fields={"number": ["This number is already in use."]})
    return TrackingNumber.objects.create(organization=organization, number=number, forward_to=forward_to,
                                         label=label, campaign=campaign)


def assign_number(number: TrackingNumber, campaign, *, forward_to: str | None = None) -> TrackingNumber:
    """Put a number on a campaign (moving it from another one, if any)."""
    if campaign is not None and campaign.organization_id != number.organization_id:
        raise DomainError("A number can only serve a campaign of its own organization.")
    number.campaign = campaign
    if forward_to:
        number.forward_to = forward_to
    number.save(update_fields=["campaign", "forward_to", "updated_at"])
    return number


def release_number(number: TrackingNumber) -> TrackingNumber:
    """Back to the inventory: calls to it are answered as not in service."""
    return assign_number(number, None)


@dataclass(frozen=True)
class CallAnswer:
    routing: Routing
    twiml: str


def answer_call(*, to: str, caller: str, call_sid: str = "", now: datetime | None = None) -> CallAnswer:
    """Route a call to ``to`` and log it as an interaction of the number's organization.

    Unscoped lookup on purpose: the called number is what tells us the organization. A number nobody holds
    belongs to no organization, so only the application log hears of it.
    """
    now = now or timezone.now()
    number = next(iter(TrackingNumber._base_manager.select_related("campaign", "organization").filter(number=to)),
                  None)  # unique: no ORDER BY needed
    if number is None:
        logger.info("Call %s to unknown number %r from %r: not in service.", call_sid, to, caller)
        return CallAnswer(Routing.NOT_IN_SERVICE, twiml(Routing.NOT_IN_SERVICE))
    campaign = number.campaign
    routing = number_state(campaign, now).routing
    answer = CallAnswer(routing, twiml(routing, forward_to=number.forward_to,
                                       referral_number=campaign.referral_number if campaign else ""))
    with organization_scope(number.organization):  # one INSERT: atomic on its own
        Interaction.objects.create(
            organization=number.organization, campaign=campaign, kind=Interaction.Kind.CALL,
            outcome=Interaction.Outcome.SUCCESS, message=routing.value, redeemer_mobile=caller[:32],
            request_id=call_sid[:100], http_status=200,
        )
    return answer
