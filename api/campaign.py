"""``GET /api/v1/campaign`` (design §8): the key's own campaign, what it can still award, and its engagement
(design §12: the settings and the behaviours)."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from ninja import Field, Router, Schema

from campaigns.models import Integration
from campaigns.services.statuses import current_status
from campaigns.status import CampaignStatus, is_within_dates
from engagement.services.context import context_of
from engagement.services.outcomes import Reward, reward_of
from incentives.services.vouchers import available_by_type, campaign_vouchers
from interactions.models import Interaction

from .envelope import answers, records

router = Router(tags=["campaign"])


class VoucherTypeOut(Schema):
    vendor: str
    amount: Decimal
    currency: str
    available: int


class RewardOut(Schema):
    type: Literal["voucher", "code"]
    vendor: str | None = Field(description="A voucher reward's type: vendor, amount, currency.")
    amount: Decimal | None
    currency: str | None
    pool_id: int | None = Field(description="A code reward's pool.")


class BehaviorSetupOut(Schema):
    behavior_id: int
    external_id: str
    name: str
    event_name: str
    goal: int = Field(description="Events needed for a completion; 0: counted without end, no outcome.")
    max_times_repeatable: int | None = Field(description="Completions allowed; null: unlimited.")
    max_times_repeatable_per_period: int | None
    period: int | None = Field(description="Seconds.")
    min_time_between_events: int | None = Field(description="Seconds.")
    reward: RewardOut | None
    archived: bool = Field(description="Its events no longer count.")


class EngagementOut(Schema):
    optin_required: bool
    opt_in_starts_at: datetime | None
    opt_in_ends_at: datetime | None
    opt_in_limit: int | None = Field(description="Most participants; null: any.")
    opt_in_taken: int = Field(description="Opt-in slots taken (never given back).")
    qualify_tag: str = Field(description="A customer needs this tag to take part (empty: none).")
    disqualify_tag: str = Field(description="A customer with this tag takes no part (empty: none).")
    visible_starts_at: datetime | None
    visible_ends_at: datetime | None
    earn_starts_at: datetime | None
    earn_ends_at: datetime | None
    claim_starts_at: datetime | None
    claim_ends_at: datetime | None
    claim_required: bool
    claim_reward: RewardOut | None
    behaviors: list[BehaviorSetupOut]


class CampaignOut(Schema):
    external_id: str
    name: str
    status: Literal[tuple(CampaignStatus.values)]  # type: ignore[valid-type]
    is_active: bool = Field(description="Now is within [starts_at, ends_at).")
    starts_at: datetime
    ends_at: datetime | None
    max_awards_per_redeemer: int | None
    test: bool = Field(description="True for a test key: the vouchers counted are test vouchers.")
    available_vouchers: list[VoucherTypeOut] = Field(description="Available vouchers by type, for this key.")
    engagement: EngagementOut = Field(description="Its engagement settings (windows half-open, null: open) and "
                                      "behaviours (design §12).")


class CampaignResponse(Schema):
    status: Literal["ok"]
    campaign: CampaignOut


@router.get(
    "/campaign",
    operation_id="getCampaign",
    **answers({200: CampaignResponse}),
    summary="The key's campaign",
    description="The campaign of the integration key, with its available vouchers by type "
    "(test vouchers for a test key, live ones for a live key).",
)
@records(Interaction.Kind.LOOKUP)
def get_campaign(request):
    integration: Integration = request.auth
    campaign = integration.campaign
    now = timezone.now()
    is_test = integration.status == Integration.Status.TEST
    return {
        "status": "ok",
        "campaign": {
            "external_id": campaign.external_id,
            "name": campaign.name,
            "status": current_status(campaign, now),
            "is_active": is_within_dates(campaign.starts_at, campaign.ends_at, now),
            "starts_at": campaign.starts_at,
            "ends_at": campaign.ends_at,
            "max_awards_per_redeemer": campaign.max_awards_per_redeemer,
            "test": is_test,
            "available_vouchers": available_by_type(campaign_vouchers(campaign).filter(is_test=is_test)),
            "engagement": engagement_of(campaign),
        },
    }


SETTINGS_FIELDS = (
    "optin_required", "opt_in_starts_at", "opt_in_ends_at", "opt_in_limit", "opt_in_taken", "qualify_tag",
    "disqualify_tag", "visible_starts_at", "visible_ends_at", "earn_starts_at", "earn_ends_at", "claim_starts_at",
    "claim_ends_at", "claim_required",
)
BEHAVIOR_FIELDS = (
    "external_id", "name", "event_name", "goal", "max_times_repeatable", "max_times_repeatable_per_period", "period",
    "min_time_between_events", "archived",
)


def reward_entity(reward: Reward | None, default_currency: str) -> dict | None:
    if reward is None:
        return None
    if reward.is_voucher:
        return {"type": "voucher", "vendor": reward.vendor, "amount": reward.amount,
                "currency": reward.currency or default_currency, "pool_id": None}
    return {"type": "code", "vendor": None, "amount": None, "currency": None, "pool_id": reward.pool_id}


def engagement_of(campaign) -> dict:
    ctx = context_of(campaign)
    currency = campaign.organization.default_currency
    return {
        **{name: getattr(ctx.settings, name) for name in SETTINGS_FIELDS},
        "claim_reward": reward_entity(reward_of(ctx.settings, "claim_"), currency),
        "behaviors": [
            {"behavior_id": behavior.pk, **{name: getattr(behavior, name) for name in BEHAVIOR_FIELDS},
             "reward": reward_entity(reward_of(behavior), currency)}
            for behavior in ctx.behaviors
        ],
    }
