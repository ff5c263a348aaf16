"""Campaign and integration rules: the functions pages, API, commands and tasks all call."""

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import connection, models, transaction
from django.utils import timezone

from accounts.errors import DomainError, NotFound

from .models import Campaign, CampaignStatusChange, Integration
from .status import reason_expression, status_expression

KEY_PREFIX_LENGTH = 12
KEY_SCHEME = "vk_"  # lets secret scanners and people recognise our keys


# --- statuses -------------------------------------------------------------------------------------


def refresh_campaign_statuses(campaign_ids: Iterable[int] | None = None, *, now: datetime | None = None) -> int:
    """Store the status the rules give now, for the given campaigns or all of them; returns how many moved.

    Two set-based statements in one transaction, whatever the number of campaigns: the history rows
    (from, to, when, why) are inserted straight from a SELECT that locks the campaigns that move, then
    those campaigns are updated. Unscoped on purpose: it reads only the ids it is given (or all, for beat).
    """
    now = now or timezone.now()
    campaigns = Campaign._base_manager.order_by()
    if campaign_ids is not None:
        campaign_ids = list(campaign_ids)
        if not campaign_ids:  # e.g. a vault deleted or cleared with no campaign linked: nothing can move
            return 0
        campaigns = campaigns.filter(pk__in=campaign_ids)
    moving = campaigns.filter(~models.Q(status=status_expression(now)))
    history = CampaignStatusChange._meta
    with transaction.atomic():
        select = (
            moving.select_for_update()
            .annotate(
                h_campaign=models.F("pk"),
                h_from=models.F("status"),
                h_to=status_expression(now),
                h_at=models.Value(now, output_field=models.DateTimeField()),
                h_reason=reason_expression(now),
            )
            .values_list("h_campaign", "h_from", "h_to", "h_at", "h_reason")
        )
        sql, params = select.query.sql_with_params()
        columns = ", ".join(
            connection.ops.quote_name(history.get_field(name).column)
            for name in ("campaign", "from_status", "to_status", "changed_at", "reason")
        )
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {connection.ops.quote_name(history.db_table)} ({columns}) {sql}", params)
            moved = cursor.rowcount
        if moved:
            moving.update(status=status_expression(now), status_changed_at=now)
    return moved


def refresh_campaign_status(campaign: Campaign) -> None:
    """Recompute one campaign at once (after an edit, a link or an integration change) and reload it."""
    refresh_campaign_statuses([campaign.pk])
    campaign.refresh_from_db(fields=["status", "status_changed_at"])


# --- integrations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """An integration with its key in clear: the only moment the key exists outside the caller."""

    integration: Integration
    key: str


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _new_key() -> tuple[str, str, str]:
    key = KEY_SCHEME + secrets.token_urlsafe(32)
    return key, key[:KEY_PREFIX_LENGTH], hash_key(key)


class IntegrationNameTaken(DomainError):
    code = "invalid_request"


def create_integration(
    campaign: Campaign,
    *,
    name: str,
    status: str = Integration.Status.TEST,
    created_by=None,
    rate_limit_per_minute: int | None = 1000,
) -> IssuedKey:
    if status not in (Integration.Status.TEST, Integration.Status.LIVE):
        raise DomainError("A new integration is test or live.", fields={"status": ["Choose test or live."]})
    if Integration._base_manager.filter(campaign=campaign, name__iexact=name).exists():
        raise IntegrationNameTaken(
            "This campaign already has an integration of that name.", fields={"name": ["Already used here."]}
        )
    key, prefix, digest = _new_key()
    integration = Integration._base_manager.create(
        campaign=campaign,
        name=name,
        status=status,
        key_prefix=prefix,
        key_hash=digest,
        created_by=created_by,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    return IssuedKey(integration, key)


def rotate_integration_key(integration: Integration) -> IssuedKey:
    """A new key for the integration; the old one stops working at once."""
    if integration.status == Integration.Status.REVOKED:
        raise DomainError("A revoked integration cannot get a new key.", code="integration_revoked")
    key, prefix, digest = _new_key()
    integration.key_prefix, integration.key_hash, integration.key_rotated_at = prefix, digest, timezone.now()
    integration.save(update_fields=["key_prefix", "key_hash", "key_rotated_at", "updated_at"])
    return IssuedKey(integration, key)


def set_integration_status(integration: Integration, status: str) -> Integration:
    if integration.status == Integration.Status.REVOKED:
        raise DomainError("A revoked integration stays revoked.", code="integration_revoked")
    integration.status = status
    fields = ["status", "updated_at"]
    if status == Integration.Status.REVOKED:
        integration.revoked_at = timezone.now()
        fields.append("revoked_at")
    integration.save(update_fields=fields)
    return integration


def revoke_integration(integration: Integration) -> Integration:
    return set_integration_status(integration, Integration.Status.REVOKED)


def find_integration_by_key(key: str) -> Integration | None:
    """The integration a bearer key belongs to, with its campaign and organization; None if unknown.

    Unscoped: the key is what tells us the organization. Revoked integrations are returned so the
    caller can answer ``integration_revoked`` rather than ``unauthorized``.
    """
    if not key or not key.startswith(KEY_SCHEME):
        return None
    return Integration._base_manager.select_related("campaign__organization").filter(key_hash=hash_key(key)).first()


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


# --- campaigns ------------------------------------------------------------------------------------


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
