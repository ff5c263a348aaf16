"""What an integration key may do at this moment (design §3 and §8).

A key is refused at once when revoked, is rate limited per minute, and writes (awards, issuances,
redemptions) only while its campaign's status allows it. These are the rules the API applies; the
functions raise the API's domain errors.
"""

import time
from datetime import datetime, timedelta
from functools import cache

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import InterfaceError, OperationalError, connection
from django.db.models import Q
from django.utils import timezone

from accounts.errors import Conflict, DomainError
from accounts.models import Organization
from config import prepared

from .models import Campaign, Integration
from .services import KEY_SCHEME, hash_key
from .status import ARCHIVE_AFTER, CampaignStatus

# last_used_at is bookkeeping: at most one UPDATE a minute per key, never a write per request.
LAST_USED_PRECISION = timedelta(minutes=1)
RATE_WINDOW_SECONDS = 60


class Unauthorized(DomainError):
    code = "unauthorized"
    http_status = 401


class IntegrationRevoked(DomainError):
    code = "integration_revoked"
    http_status = 403


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


class CampaignNotLive(Conflict):
    code = "campaign_not_live"


class CampaignEnded(Conflict):
    code = "campaign_ended"


def integration_for_key(key: str) -> Integration | None:
    """``services.find_integration_by_key`` for the API's hot path: the same answer from one statement built once.

    The integration comes with its campaign and organization loaded, as ``select_related`` would give them
    (compiling that query through the ORM costs more than running it, on every request), and the campaign with
    ``linked_vault_ids``: the vaults of its own organization linked to it, which an award draws from.
    """
    if not key or not key.startswith(KEY_SCHEME):
        return None
    row = _first_statement(_integration_sql(), [hash_key(key)])
    if row is None:
        return None
    loaded, start = [], 0
    for model, fields in _loaded_models():
        loaded.append(model.from_db(connection.alias, fields, row[start : start + len(fields)]))
        start += len(fields)
    integration, campaign, organization = loaded
    campaign._state.fields_cache["organization"] = organization
    campaign.linked_vault_ids = tuple(row[start])
    integration._state.fields_cache["campaign"] = campaign
    return integration


def _first_statement(sql: str, params: list) -> tuple | None:
    """The request's first statement, standing in for the CONN_HEALTH_CHECKS probe (a ``SELECT 1`` round trip).

    Same outcome as the probe, without its round trip: a persistent connection that went bad is dropped and the
    statement runs once more on a new one. Inside a transaction there is no probe and no retry.
    """
    probe_due = (
        connection.connection is not None
        and connection.health_check_enabled
        and not connection.health_check_done
        and not connection.in_atomic_block
    )
    if probe_due:
        connection.health_check_done = True
    try:
        return prepared.fetchone(sql, params)
    except (OperationalError, InterfaceError):
        if not probe_due:
            raise
        connection.close()
        return prepared.fetchone(sql, params)


@cache
def _loaded_models() -> tuple[tuple[type, list[str]], ...]:
    """The models the lookup loads, in the statement's order, with their fields' attnames."""
    models = (Integration, Campaign, Organization)
    return tuple((model, [field.attname for field in model._meta.concrete_fields]) for model in models)


@cache
def _integration_sql() -> str:
    qn = connection.ops.quote_name
    tables = [qn(model._meta.db_table) for model, _ in _loaded_models()]
    columns = [
        f"{table}.{qn(field.column)}"
        for table, (model, _) in zip(tables, _loaded_models(), strict=True)
        for field in model._meta.concrete_fields
    ]
    integration, campaign, organization = tables
    links, vault = qn(Campaign.vaults.through._meta.db_table), qn(Campaign.vaults.field.related_model._meta.db_table)
    columns.append(
        f"ARRAY(SELECT {links}.{qn('vault_id')} FROM {links} "
        f"JOIN {vault} ON {vault}.{qn('id')} = {links}.{qn('vault_id')} "
        f"WHERE {links}.{qn('campaign_id')} = {campaign}.{qn('id')} "
        f"AND {vault}.{qn('organization_id')} = {campaign}.{qn('organization_id')} ORDER BY 1)"
    )
    return (
        f"SELECT {', '.join(columns)} FROM {integration} "
        f"JOIN {campaign} ON {campaign}.{qn('id')} = {integration}.{qn('campaign_id')} "
        f"JOIN {organization} ON {organization}.{qn('id')} = {campaign}.{qn('organization_id')} "
        f"WHERE {integration}.{qn('key_hash')} = %s"
    )


def admit(integration: Integration, *, now: datetime | None = None) -> None:
    """Let a request by this key in, or raise: revoked keys and keys over their rate are refused."""
    if integration.status == Integration.Status.REVOKED:
        raise IntegrationRevoked("This integration key has been revoked.")
    check_rate_limit(integration)
    note_key_used(integration, now or timezone.now())


def current_status(campaign: Campaign, now: datetime) -> str:
    """The stored status, corrected by the dates it may lag behind (the beat runs once a minute)."""
    if campaign.ends_at is not None and campaign.ends_at <= now:
        return CampaignStatus.ARCHIVED if campaign.ends_at < now - ARCHIVE_AFTER else CampaignStatus.COMPLETED
    if campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED) or campaign.starts_at > now:
        return CampaignStatus.PENDING  # dates moved and the beat has not caught up: not live until it has
    return campaign.status


def check_may_write(integration: Integration, *, now: datetime | None = None) -> None:
    """Test keys write while the campaign is pending or live, live keys only while it is live, none after."""
    status = current_status(integration.campaign, now or timezone.now())
    if status in (CampaignStatus.COMPLETED, CampaignStatus.ARCHIVED):
        raise CampaignEnded(f"The campaign has ended (it is {status}).")
    if integration.status == Integration.Status.LIVE and status != CampaignStatus.LIVE:
        raise CampaignNotLive("The campaign is not live yet: a live key awards only while it is live.")


def check_rate_limit(integration: Integration) -> None:
    """A fixed window per key and minute, counted in the shared cache in one round trip."""
    limit = integration.rate_limit_per_minute
    if limit is None:
        return
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    count = _count_in_window(f"api-rate:{integration.pk}:{window}")
    if count > limit:
        retry_after = max(1, int((window + 1) * RATE_WINDOW_SECONDS - now + 0.999))
        raise RateLimited(f"More than {limit} requests this minute for this key.", retry_after=retry_after)


def _count_in_window(key: str) -> int:
    cache = caches["default"]
    timeout = RATE_WINDOW_SECONDS * 2
    if isinstance(cache, RedisCache):
        # One INCR: Django's incr() checks existence first (two round trips). The window's first request
        # also sets the expiry (a key left without one by a crash belongs to a minute that never comes back).
        redis_key = cache.make_and_validate_key(key)
        client = _redis_client(cache)
        count = client.incr(redis_key)
        if count == 1:
            client.expire(redis_key, timeout)
        return int(count)
    if cache.add(key, 1, timeout):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout)
        return 1


def _redis_client(cache: RedisCache):
    """The backend's Redis client, made once: Django makes a new one per call, which costs more than the INCR."""
    backend = cache._cache
    client = getattr(backend, "_shared_write_client", None)
    if client is None:
        client = backend._shared_write_client = backend.get_client(write=True)
    return client


def note_key_used(integration: Integration, now: datetime) -> None:
    """Move last_used_at forward when it is more than a minute old, with one conditional UPDATE."""
    last = integration.last_used_at
    if last is not None and now - last < LAST_USED_PRECISION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    Integration._base_manager.filter(stale, pk=integration.pk).update(last_used_at=now)
    integration.last_used_at = now
