"""``GET /api/v1/campaign`` (design §8): the key's own campaign and what it can still award."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from django.utils import timezone
from ninja import Field, Router, Schema

from campaigns.models import Integration
from campaigns.services.statuses import current_status
from campaigns.status import CampaignStatus, is_within_dates
from incentives.services.vouchers import available_by_type, campaign_vouchers
from interactions.models import Interaction

from .envelope import answers, records

router = Router(tags=["campaign"])


class VoucherTypeOut(Schema):
    vendor: str
    amount: Decimal
    currency: str
    available: int


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
        },
    }
