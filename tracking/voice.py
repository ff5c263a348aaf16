"""Where a call to a tracking number goes (design §6): the rule, and its TwiML answer.

A number is active while its campaign's dates hold (whatever the campaign's status). After the end, a
``referral`` campaign's numbers play the referral message while ``ends_at`` is at most 30 days in the
past (the boundary between ``completed`` and ``archived``); otherwise the number is not in service.
"""

import enum
from dataclasses import dataclass
from datetime import datetime

from twilio.twiml.voice_response import VoiceResponse

from campaigns.status import ARCHIVE_AFTER, is_within_dates

from .phone import spoken_digits

NOT_IN_SERVICE_MESSAGE = "The number you have called is not in service. Goodbye."
REFERRAL_MESSAGE = "This promotion has ended. Please call us directly on {digits}. Thank you."


class Routing(enum.StrEnum):
    DIAL = "dial"
    REFERRAL = "referral"
    NOT_IN_SERVICE = "not_in_service"


ROUTING_LABELS = {Routing.DIAL: "Active", Routing.REFERRAL: "Referral", Routing.NOT_IN_SERVICE: "Inactive"}


@dataclass(frozen=True)
class NumberState:
    """What a number does now, for pages: ``active``, ``referral`` (until ``until``) or ``inactive``."""

    routing: Routing
    until: datetime | None = None

    @property
    def label(self) -> str:
        return ROUTING_LABELS[self.routing]


def number_state(campaign, now: datetime) -> NumberState:
    """The state of a number assigned to ``campaign`` (None: unassigned) at ``now``."""
    if campaign is None:
        return NumberState(Routing.NOT_IN_SERVICE)
    if is_within_dates(campaign.starts_at, campaign.ends_at, now):
        return NumberState(Routing.DIAL, campaign.ends_at)
    ended = campaign.ends_at is not None and campaign.ends_at <= now
    if ended and campaign.end_behavior == "referral" and campaign.ends_at >= now - ARCHIVE_AFTER:
        return NumberState(Routing.REFERRAL, campaign.ends_at + ARCHIVE_AFTER)
    return NumberState(Routing.NOT_IN_SERVICE)


def twiml(routing: Routing, *, forward_to: str = "", referral_number: str = "") -> str:
    response = VoiceResponse()
    if routing == Routing.DIAL:
        response.dial(forward_to)
    elif routing == Routing.REFERRAL:
        response.say(REFERRAL_MESSAGE.format(digits=spoken_digits(referral_number)))
    else:
        response.say(NOT_IN_SERVICE_MESSAGE)
        response.hangup()
    return str(response)
