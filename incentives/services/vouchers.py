"""Vaults and vouchers (design §4): which vouchers are available, and voiding them."""

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Now
from django.utils import timezone

from campaigns.models import Campaign

from ..models import Voucher

VOUCHER_TYPE = ("vendor", "amount", "currency")


def available(now: datetime | Now | None = None) -> Q:
    """The one rule of an available voucher (design §4): neither awarded nor void, and not expired at ``now``
    (a moment, or the database's ``Now()``). An expired voucher is never awarded nor counted as available."""
    unexpired = Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now() if now is None else now)
    return Q(status=Voucher.Status.AVAILABLE) & unexpired


def available_by_type(vouchers: QuerySet[Voucher], *also: str) -> list[dict[str, Any]]:
    """The available ``vouchers`` counted by type (and by the fields in ``also``), in type order:
    ``[{vendor, amount, currency, *also, available}]``."""
    fields = (*also, *VOUCHER_TYPE) if also else VOUCHER_TYPE
    return list(
        vouchers.filter(available()).values(*fields).annotate(available=Count("pk")).order_by(*VOUCHER_TYPE, *also)
    )


def linked_vaults(campaign: Campaign) -> QuerySet:
    """The ids of the vaults linked to the campaign (of its own organization), as a subquery."""
    return Campaign.vaults.through._base_manager.filter(
        campaign_id=campaign.pk, vault__organization_id=campaign.organization_id
    ).values("vault_id")


def linked_vault_ids(campaign: Campaign) -> tuple[int, ...]:
    """The same ids, as the API loaded them with the key (``api.keys``), or read now."""
    ids = getattr(campaign, "linked_vault_ids", None)
    if ids is None:
        ids = campaign.linked_vault_ids = tuple(sorted(linked_vaults(campaign).values_list("vault_id", flat=True)))
    return ids


def campaign_vouchers(campaign: Campaign) -> QuerySet[Voucher]:
    """The vouchers of the vaults linked to the campaign, which its awards draw from (the vaults as a subquery,
    unless the API loaded their ids with the key)."""
    ids = getattr(campaign, "linked_vault_ids", None)
    return Voucher._base_manager.filter(vault_id__in=linked_vaults(campaign) if ids is None else ids)


def void_vouchers(vouchers: QuerySet[Voucher]) -> int:
    """Void the given vouchers that were never awarded (expired ones included), in one conditional UPDATE;
    returns how many."""
    return vouchers.filter(status=Voucher.Status.AVAILABLE).update(status=Voucher.Status.VOID)
