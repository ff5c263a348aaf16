"""Integrations and their keys (design §3): a key is shown once and stored as a prefix and a SHA-256 hash."""

import hashlib
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from core.errors import DomainError

from ..models import Campaign, Integration
from .statuses import refresh_campaign_statuses

KEY_PREFIX_LENGTH = 12
KEY_SCHEME = "vk_"  # lets secret scanners and people recognise our keys


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


_UNCHANGED = object()


def update_integration(
    integration: Integration,
    *,
    name: str = _UNCHANGED,
    status: str = _UNCHANGED,
    rate_limit_per_minute: int | None = _UNCHANGED,
) -> Integration:
    """Write only the fields given, and only while the row is not revoked.

    A conditional UPDATE rather than save(): a revoke or a key rotation that landed since ``integration``
    was loaded must not be undone by writing back its stale columns.
    """
    changes = {
        field: value
        for field, value in (("name", name), ("status", status), ("rate_limit_per_minute", rate_limit_per_minute))
        if value is not _UNCHANGED
    }
    revoked = DomainError("A revoked integration stays revoked.", code="integration_revoked")
    if integration.status == Integration.Status.REVOKED:
        raise revoked
    if "status" in changes and changes["status"] not in (Integration.Status.TEST, Integration.Status.LIVE):
        raise DomainError("An integration is test or live; revoking has its own action.",
                          fields={"status": ["Choose test or live."]})
    taken = IntegrationNameTaken(
        "This campaign already has an integration of that name.", fields={"name": ["Already used here."]}
    )
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        others = Integration._base_manager.filter(campaign_id=integration.campaign_id).exclude(pk=integration.pk)
        if others.filter(name__iexact=changes["name"]).exists():
            raise taken
    if not changes:
        return integration
    changes["updated_at"] = timezone.now()
    try:
        with transaction.atomic():
            updated = (
                Integration._base_manager.filter(pk=integration.pk)
                .exclude(status=Integration.Status.REVOKED)
                .update(**changes)
            )
            # update() sends no post_save: the campaign's status is recomputed here instead.
            if updated and "status" in changes:
                refresh_campaign_statuses([integration.campaign_id])
    except IntegrityError as error:  # the same name taken by a concurrent write
        raise taken from error
    if not updated:
        raise revoked
    for field, value in changes.items():
        setattr(integration, field, value)
    return integration
