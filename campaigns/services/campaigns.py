"""Campaigns (design §3): creating them with their links, and finding one for a command."""

from django.db import transaction
from django.utils import timezone

from core.errors import DomainError, NotFound

from ..models import Campaign


def find_campaign_by_external_id(external_id: str, organization_slug: str | None = None) -> Campaign:
    """For commands: a campaign by its external id, across organizations unless one is named."""
    campaigns = Campaign._base_manager.select_related("organization").filter(external_id=external_id)
    if organization_slug:
        campaigns = campaigns.filter(organization__slug=organization_slug)
    found = list(campaigns[:2])
    if not found:
        raise NotFound(f"No campaign has the external id {external_id!r}.")
    if len(found) > 1:
        raise DomainError(f"Several organizations have a campaign {external_id!r}: name one with --organization.")
    return found[0]


def create_campaign(organization, *, owner, vaults=(), pools=(), **fields) -> Campaign:
    """A new campaign with its links; its status is computed as soon as it exists."""
    if not fields.get("starts_at"):
        fields["starts_at"] = timezone.now()
    with transaction.atomic():
        campaign = Campaign(organization=organization, owner=owner, **fields)
        campaign.full_clean()
        campaign.save()
        if vaults:
            campaign.vaults.set(vaults)
        if pools:
            campaign.pools.set(pools)
    return campaign
