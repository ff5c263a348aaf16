"""Admitting an integration key (design §3 and §8): the key's lookup, its rate limit, its last use.

A key is found by its SHA-256 digest in one prepared statement, refused at once when revoked, and rate
limited per minute in the shared cache (``api.ratelimit``). What the key may write is the campaign's rule
(``campaigns.services.statuses.check_may_write``).

Each process keeps its keys' last lookups (on PostgreSQL): an operation whose first statement checks the key
(``core.keys``) runs on the last lookup, one round trip fewer.
"""

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from campaigns.models import Campaign, Integration
from campaigns.services.integrations import KEY_SCHEME, hash_key
from core import sql
from core.errors import DomainError
from core.keys import KeyCheck

from .ratelimit import counting

# last_used_at is bookkeeping: at most one UPDATE a minute per key, never a write per request.
LAST_USED_PRECISION = timedelta(minutes=1)
RATE_WINDOW_SECONDS = 60
KNOWN_KEYS = 1_000  # lookups kept per process; past that, the kept ones are forgotten at once


class Unauthorized(DomainError):
    code = "unauthorized"


class IntegrationRevoked(DomainError):
    code = "integration_revoked"


class RateLimited(DomainError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def integration_for_key(key: str) -> Integration | None:
    """The integration of a bearer key, or None: one prepared statement, built once per process.

    Unscoped: the key is what tells us the organization; revoked integrations are returned so the API can
    answer ``integration_revoked`` rather than ``unauthorized``. The integration comes with its campaign and
    organization loaded, as ``select_related`` would give them (compiling that query through the ORM costs
    more than running it, on every request), and the campaign with ``linked_vault_ids``: the vaults of its own
    organization linked to it, which an award draws from.
    """
    if not key or not key.startswith(KEY_SCHEME):
        return None
    return _integration_for_digest(hash_key(key))


def _integration_for_digest(digest: str) -> Integration | None:
    if connection.vendor != "postgresql":  # ``make run`` on SQLite: the ORM's way (the statement uses ARRAY)
        return Integration._base_manager.select_related("campaign__organization").filter(key_hash=digest).first()
    row = sql.as_first_statement(lambda: sql.fetchone(_integration_sql(), [digest]))
    if row is None:
        _known.pop(digest, None)
        return None
    if len(_known) >= KNOWN_KEYS:
        _known.clear()
    _known[digest] = (row[:-1], row[-1])
    return _integration_of(digest, row[:-1])


# digest → the key's last lookup in this process: its row (the statement's columns) and its version.
_known: dict[str, tuple[tuple, str]] = {}


def _integration_of(digest: str, row: tuple) -> Integration:
    loaded, start = [], 0
    for model, fields in _loaded_models():
        loaded.append(model.from_db(connection.alias, fields, row[start : start + len(fields)]))
        start += len(fields)
    integration, campaign, organization = loaded
    campaign._state.fields_cache["organization"] = organization
    campaign.linked_vault_ids = tuple(row[start])
    integration._state.fields_cache["campaign"] = campaign
    integration.key_digest = digest
    return integration


def last_lookup(key: str) -> Integration | None:
    """The key's integration as this process last looked it up, to be checked by the request's first statement
    (its ``key_check``); None when this process has not looked it up (or not on PostgreSQL)."""
    if not key.startswith(KEY_SCHEME):
        return None
    digest = hash_key(key)
    known = _known.get(digest)
    if known is None:
        return None
    row, version = known
    integration = _integration_of(digest, row)
    integration.key_check = KeyCheck(_check_sql(), [digest, version])
    return integration


@cache
def _loaded_models() -> tuple[tuple[type, list[str]], ...]:
    """The models the lookup loads, in the statement's order, with their fields' attnames."""
    models = (Integration, Campaign, Organization)
    return tuple((model, [field.attname for field in model._meta.concrete_fields]) for model in models)


@cache
def _lookup_parts() -> tuple[list[str], str, str]:
    """The lookup's columns (the models' fields in order, then the linked vaults), its version and FROM clause.

    The version is each row's ``xmin`` and ``ctid`` (the transaction that wrote that version of the row and where
    it lies: any UPDATE writes a new version elsewhere; a row lock does not) and the linked vaults. Cheap to take,
    and it moves with any change."""
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
    rows = ", ".join(f"{table}.xmin, {table}.ctid" for table in tables)
    version = f"concat_ws(' ', {rows}, {columns[-1]})"
    source = (
        f"FROM {integration} "
        f"JOIN {campaign} ON {campaign}.{qn('id')} = {integration}.{qn('campaign_id')} "
        f"JOIN {organization} ON {organization}.{qn('id')} = {campaign}.{qn('organization_id')} "
        f"WHERE {integration}.{qn('key_hash')} = %s"
    )
    return columns, version, source


@cache
def _integration_sql() -> str:
    """The lookup: the integration, its campaign and organization, the linked vaults, and the row's version."""
    columns, version, source = _lookup_parts()
    return f"SELECT {', '.join(columns)}, {version} {source}"


@cache
def _check_sql() -> str:
    """True while the key's row has the version of its last lookup (parameters: the digest, the version)."""
    _, version, source = _lookup_parts()
    return f"(SELECT {version} {source}) IS NOT DISTINCT FROM %s"


def admit(integration: Integration, requests: "RequestCount", *, now: datetime | None = None,
          note_use: bool = True) -> None:
    """Let a request by this key in, or raise: revoked keys and keys over their rate are refused. With
    ``note_use`` the key's last use moves too (else the caller notes it once the key is checked)."""
    if integration.status == Integration.Status.REVOKED:
        raise IntegrationRevoked("This integration key has been revoked.")
    limit = integration.rate_limit_per_minute
    if limit is not None and requests.count > limit:
        raise RateLimited(f"More than {limit} requests this minute for this key.", retry_after=requests.retry_after)
    if note_use:
        note_key_used(integration, now or timezone.now())


@dataclass(frozen=True)
class RequestCount:
    """A key's requests in the current minute, this one included, and the seconds until the next minute."""

    count: int
    retry_after: int


def integration_and_requests(key: str, *, last_lookup_will_do: bool = False
                             ) -> tuple[Integration | None, RequestCount | None]:
    """The key's integration (as ``integration_for_key``) and its requests this minute, in one wait. With
    ``last_lookup_will_do`` and a lookup of the key kept, that lookup, to be checked (``last_lookup``).

    A fixed window per key and minute in the shared cache, counted by the key's digest so that the INCR can go
    out before the database is asked: its answer arrives while the integration is looked up. Unknown keys are
    counted too (their counters expire with the minute); their count is never read.
    """
    if not key or not key.startswith(KEY_SCHEME):
        return None, None
    digest = hash_key(key)
    now = time.time()
    window = int(now // RATE_WINDOW_SECONDS)
    with counting(f"api-rate:{digest[:32]}:{window}", RATE_WINDOW_SECONDS) as counted:
        integration = (last_lookup(key) if last_lookup_will_do else None) or _integration_for_digest(digest)
        if integration is None:
            return None, None
        count = counted()
    return integration, RequestCount(count, max(1, int((window + 1) * RATE_WINDOW_SECONDS - now + 0.999)))


def note_key_used(integration: Integration, now: datetime) -> None:
    """Move last_used_at forward when it is more than a minute old, with one conditional UPDATE."""
    last = integration.last_used_at
    if last is not None and now - last < LAST_USED_PRECISION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    Integration._base_manager.filter(stale, pk=integration.pk).update(last_used_at=now)
    integration.last_used_at = now
    # The row has a new version now: the next request looks the key up again.
    _known.pop(getattr(integration, "key_digest", ""), None)
