"""Recompute a campaign's status at once whenever something that can move it changes.

Signals rather than service calls so that every path (pages, API, commands, Django's admin site,
a vault deleted with its links) is covered without anyone having to remember.
"""

from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete
from django.dispatch import receiver

from incentives.models import IncentivePool, Vault

from .models import Campaign, Integration
from .services.statuses import refresh_campaign_statuses

# Saving only these fields cannot move a status. Two sets: an integration's ``status`` does move its campaign's.
_INERT_CAMPAIGN_FIELDS = frozenset({"status", "status_changed_at", "updated_at"})
_INERT_INTEGRATION_FIELDS = frozenset({"updated_at", "last_used_at", "key_prefix", "key_hash", "key_rotated_at"})


@receiver(post_save, sender=Campaign)
def campaign_saved(sender, instance: Campaign, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= _INERT_CAMPAIGN_FIELDS:
        return
    refresh_campaign_statuses([instance.pk])
    instance.refresh_from_db(fields=["status", "status_changed_at"])


# A vault or a pool makes a campaign able to go live (design §3): their links move statuses alike.
_LINKED = {Campaign.vaults.through: "vault_id", Campaign.pools.through: "incentivepool_id"}


@receiver(m2m_changed, sender=Campaign.vaults.through)
@receiver(m2m_changed, sender=Campaign.pools.through)
def campaign_links_changed(sender, instance, action, reverse, pk_set, **kwargs):
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if not reverse:
        refresh_campaign_statuses([instance.pk])
        instance.refresh_from_db(fields=["status", "status_changed_at"])
    elif action == "post_clear":
        refresh_campaign_statuses(instance._campaign_ids_before_clear)
    else:
        refresh_campaign_statuses(pk_set)


@receiver(m2m_changed, sender=Campaign.vaults.through)
@receiver(m2m_changed, sender=Campaign.pools.through)
def remember_linked_campaigns_before_clear(sender, instance, action, reverse, **kwargs):
    if action == "pre_clear" and reverse:
        instance._campaign_ids_before_clear = _linked_campaign_ids(sender, instance)


def _linked_campaign_ids(through, instance) -> list[int]:
    return list(through.objects.filter(**{_LINKED[through]: instance.pk}).values_list("campaign_id", flat=True))


def _deleted_directly(model, origin) -> bool:
    """True when the deletion started at this model, not as a cascade of its campaign or organization
    (which are going away too: recomputing them would write history for rows being deleted)."""
    return isinstance(origin, model) or (isinstance(origin, QuerySet) and origin.model is model)


@receiver(post_save, sender=Integration)
def integration_saved(sender, instance: Integration, update_fields=None, **kwargs):
    if update_fields is not None and set(update_fields) <= _INERT_INTEGRATION_FIELDS:
        return
    refresh_campaign_statuses([instance.campaign_id])


@receiver(post_delete, sender=Integration)
def integration_deleted(sender, instance: Integration, origin=None, **kwargs):
    if _deleted_directly(Integration, origin):
        refresh_campaign_statuses([instance.campaign_id])


@receiver(pre_delete, sender=Vault)
@receiver(pre_delete, sender=IncentivePool)
def stock_deleting(sender, instance: Vault | IncentivePool, **kwargs):
    through = Campaign.vaults.through if sender is Vault else Campaign.pools.through
    instance._linked_campaign_ids = _linked_campaign_ids(through, instance)


@receiver(post_delete, sender=Vault)
@receiver(post_delete, sender=IncentivePool)
def stock_deleted(sender, instance: Vault | IncentivePool, origin=None, **kwargs):
    if _deleted_directly(sender, origin):
        refresh_campaign_statuses(getattr(instance, "_linked_campaign_ids", []))
