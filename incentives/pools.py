"""Incentive pools (design §5, §8): issuing and redeeming codes, the pool's counts, its low-threshold email.

Counts are always computed from the code rows; each code row carries its own issuance and redemption counts,
changed with ``F()`` in the transaction that writes the issuance or redemption. A unique pool's pick is
``FOR UPDATE SKIP LOCKED`` without ordering, so concurrent issuances never wait on each other nor share a code.
"""

import itertools
import re
import secrets
import struct
import uuid
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, models, transaction
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.errors import Conflict, DomainError, NotFound
from accounts.scoping import organization_scope, scopes_disabled
from campaigns.access import check_may_write
from campaigns.models import Campaign, Integration
from config import prepared
from tracking.models import Interaction
from tracking.services import (
    InteractionDraft,
    claim_reference,
    insert_interaction_sql,
    request_fingerprint,
    store_answer,
)

from .models import IncentiveCode, IncentivePool, Issuance, Issuee, Redemption


class IssuanceNotAllowed(Conflict):
    code = "issuance_not_allowed"


class RedemptionNotAllowed(Conflict):
    code = "redemption_not_allowed"


class PoolExhausted(Conflict):
    code = "pool_exhausted"
    outcome = Interaction.Outcome.OUT_OF_STOCK


class CodeInactive(Conflict):
    code = "code_inactive"


class CodeNotIssued(Conflict):
    code = "code_not_issued"


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"


@dataclass(frozen=True)
class WriteResult:
    http_status: int  # 201 for a new issuance or redemption, 200 for a replay
    body: dict[str, Any]


# --- reading -----------------------------------------------------------------------------------------


def remaining_filter(pool_field: str = "pool") -> Q:
    """Codes that count as remaining, seen from a code row: active, and never issued in a unique pool."""
    unique = Q(**{f"{pool_field}__distribution": IncentivePool.Distribution.UNIQUE})
    return Q(active=True) & (~unique | Q(issued_count=0))


def with_counts(pools: models.QuerySet) -> models.QuerySet:
    """Pools annotated with ``total``, ``issued`` and ``remaining``, from their code rows (subqueries)."""
    codes = IncentiveCode._base_manager.filter(pool=models.OuterRef("pk")).order_by().values("pool")

    def counted(expression, *filters) -> models.Subquery:
        return Coalesce(models.Subquery(codes.filter(*filters).annotate(n=expression).values("n")), 0)

    return pools.annotate(
        total=counted(Count("pk")),
        issued=counted(Sum("issued_count")),
        remaining=counted(Count("pk"), remaining_filter()),
    )


def pool_counts(pool: IncentivePool) -> dict[str, int]:
    """``total``, ``issued`` and ``remaining`` of one pool, in one aggregate query over its codes."""
    unique = pool.distribution == IncentivePool.Distribution.UNIQUE
    remaining = Q(active=True, issued_count=0) if unique else Q(active=True)
    counts = IncentiveCode._base_manager.filter(pool_id=pool.pk).aggregate(
        total=Count("pk"), issued=Coalesce(Sum("issued_count"), 0), remaining=Count("pk", filter=remaining)
    )
    return {name: int(value) for name, value in counts.items()}


def linked_pools(campaign: Campaign) -> models.QuerySet:
    """The ids of the pools linked to the campaign (of its own organization), as a subquery."""
    return Campaign.pools.through._base_manager.filter(
        campaign_id=campaign.pk, incentivepool__organization_id=campaign.organization_id
    ).values("incentivepool_id")


def reachable_pool(integration: Integration, pool_id: int) -> IncentivePool:
    """The pool, when it is linked to the key's campaign; otherwise ``not_found``."""
    pool = IncentivePool._base_manager.filter(pk=pool_id, pk__in=linked_pools(integration.campaign)).first()
    if pool is None:
        raise NotFound("No such pool, or it is not linked to this key's campaign.")
    return pool


def reachable_code(integration: Integration, code: str) -> IncentiveCode:
    """The code of the key's organization, when its pool is linked to the key's campaign; else ``not_found``."""
    campaign = integration.campaign
    found = (
        IncentiveCode._base_manager.select_related("pool")
        .filter(organization_id=campaign.organization_id, code=code, pool_id__in=linked_pools(campaign))
        .first()
    )
    if found is None:
        raise NotFound("No such code, or its pool is not linked to this key's campaign.")
    return found


def _url(kind: str, key: Any) -> str:
    return f"/api/v1/{kind}/{key}"


def pool_entity(pool: IncentivePool) -> dict[str, Any]:
    counts = pool_counts(pool)
    return {
        "id": pool.pk,
        "name": pool.name,
        "issuance_allowed": pool.issuance_allowed,
        "redemption_allowed": pool.redemption_allowed,
        "incentive_codes": {
            **counts,
            "low_threshold": pool.low_threshold,
            "max_characters": pool.max_characters,
        },
        "distribution": {"method": pool.distribution},
        "notification_email_address": pool.notification_email,
        "created_at": pool.created_at,
        "updated_at": pool.updated_at,
        "url": _url("pools", pool.pk),
    }


def code_entity(code: IncentiveCode) -> dict[str, Any]:
    return {
        "code": code.code,
        "active": code.active,
        "issuances": {"total": code.issued_count, "unique": code.issued_unique},
        "redemptions": {"total": code.redeemed_count, "unique": code.redeemed_unique},
        "incentive_pool": {"id": code.pool_id, "url": _url("pools", code.pool_id)},
        "created_at": code.created_at,
        "updated_at": code.updated_at,
        "url": _url("codes", code.code),
    }


def event_entity(event: Issuance | Redemption, code: IncentiveCode) -> dict[str, Any]:
    return {
        "id": event.pk,
        "external_issuee_id": event.external_issuee_id,
        "issuee_id": str(event.issuee_id),
        "referring_application": event.referring_application,
        "referring_application_ref_id": event.referring_application_ref_id,
        "incentive_code": {"code": code.code, "url": _url("codes", code.code)},
        "incentive_pool": {"id": event.pool_id, "url": _url("pools", event.pool_id)},
        "created_at": event.created_at,
        "updated_at": event.updated_at,
    }


# --- writing -----------------------------------------------------------------------------------------


def issuee_id_for(organization_id: int, external_issuee_id: str):
    """The stable UUID of ``external_issuee_id`` in the organization, made on first sight (race-free)."""
    meta = Issuee._meta
    qn = connection.ops.quote_name
    fresh = Issuee(organization_id=organization_id, external_issuee_id=external_issuee_id)
    field = meta.get_field("issuee_id")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(meta.db_table)} (organization_id, external_issuee_id, issuee_id, created_at) "
            f"VALUES (%s, %s, %s, %s) ON CONFLICT (organization_id, external_issuee_id) "
            f"DO UPDATE SET external_issuee_id = EXCLUDED.external_issuee_id RETURNING issuee_id",
            [organization_id, external_issuee_id, field.get_db_prep_value(fresh.issuee_id, connection),
             timezone.now()],
        )
        value = cursor.fetchone()[0]
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)  # SQLite keeps UUIDs as hex text


def _lock_key(*parts: Any) -> None:
    """A transaction-scoped advisory lock on the parts (serializes one issuee's writes on one code)."""
    if connection.vendor != "postgresql":
        return  # SQLite (``make run``) serializes every write anyway
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [":".join(map(str, parts))])


def _write_logged(
    draft: InteractionDraft, integration: Integration, reference: str | None, request: dict, run: Callable,
    *, one_statement: bool = False,
) -> WriteResult:
    """One idempotent write: a ``reference`` already answered replays its first answer (200, no interaction);
    otherwise ``run()`` returns the 201 body, which the reference keeps and the request's interaction records.

    ``run()`` returns the body and whether its own statement wrote the interaction. When it is ``one_statement``
    (atomic on its own) and there is no reference to claim, no transaction is opened: no BEGIN and COMMIT round
    trips on the hot path.
    """
    logged = False
    with nullcontext() if one_statement and not reference else transaction.atomic():
        claim = None
        if reference:
            claim = claim_reference(integration, reference, request_fingerprint(request))
            if claim.is_replay:
                return WriteResult(200, claim.replay_body)
        check_may_write(integration)
        body, logged = run()
        if claim is not None:
            store_answer(claim, 201, body)
        if not logged:
            draft.write(http_status=201)
    if logged:
        draft.mark_written()  # its statement (or transaction) is through
    return WriteResult(201, body)


def issue_code(
    pool: IncentivePool,
    *,
    external_issuee_id: str,
    integration: Integration,
    draft: InteractionDraft,
    reference: str | None = None,
) -> WriteResult:
    """Issue one code of the pool to ``external_issuee_id``: 201 with the issuance, or 200 for a replay.

    A unique pool on PostgreSQL issues in one statement (``_issue_in_one_statement``); a multi pool, or another
    database, in ORM steps inside the transaction.
    """
    one_statement = pool.distribution == IncentivePool.Distribution.UNIQUE and connection.vendor == "postgresql"

    def run() -> tuple[dict, bool]:
        if not pool.issuance_allowed:
            raise IssuanceNotAllowed(f"Pool {pool.name!r} does not allow issuing codes.")
        if one_statement:
            entity = _issue_in_one_statement(pool, external_issuee_id, integration, draft)
        else:
            entity = _issue_in_steps(pool, external_issuee_id, integration)
        if entity is None:
            raise PoolExhausted(f"Pool {pool.name!r} has no code left to issue.")
        _queue_threshold_check_if_low(pool)
        return {"status": "ok", "issuance": entity}, one_statement

    request = {"op": "issuance", "pool": pool.pk, "external_issuee_id": external_issuee_id}
    return _write_logged(draft, integration, reference, request, run, one_statement=one_statement)


def _issue_in_steps(pool: IncentivePool, external_issuee_id: str, integration: Integration) -> dict | None:
    code = _pick_code(pool, external_issuee_id)
    if code is None:
        return None
    first_for_issuee = True
    if pool.distribution == IncentivePool.Distribution.MULTI:
        _lock_key("issuance", code.pk, external_issuee_id)
        first_for_issuee = not Issuance._base_manager.filter(
            code_id=code.pk, external_issuee_id=external_issuee_id
        ).exists()
    issuance = _record_event(Issuance, code, pool, external_issuee_id, integration)
    IncentiveCode._base_manager.filter(pk=code.pk).update(
        issued_count=F("issued_count") + 1,
        issued_unique=F("issued_unique") + int(first_for_issuee),
        updated_at=timezone.now(),
    )
    return event_entity(issuance, code)


def _record_event(
    model: type[Issuance | Redemption], code: IncentiveCode, pool: IncentivePool, external_issuee_id: str,
    integration: Integration,
) -> Issuance | Redemption:
    """An issuance or a redemption of the code, in the name of the key's integration and campaign (003)."""
    return model._base_manager.create(
        code=code,
        pool=pool,
        external_issuee_id=external_issuee_id,
        issuee_id=issuee_id_for(pool.organization_id, external_issuee_id),
        referring_application=integration.name,
        referring_application_ref_id=integration.campaign.external_id,
    )


def _issue_in_one_statement(
    pool: IncentivePool, external_issuee_id: str, integration: Integration, draft: InteractionDraft
) -> dict | None:
    """A unique pool's issuance as one statement, like the award: pick an unissued code (SKIP LOCKED, no
    ORDER BY), count it issued, make or find the issuee, write the issuance and the request's interaction.
    None when no code is left (nothing written)."""
    now = timezone.now()
    params = [
        pool.pk, now,
        external_issuee_id, uuid.uuid4(), now,
        pool.pk, external_issuee_id, integration.name, integration.campaign.external_id, now, now,
        *draft.insert_params(http_status=201),
    ]
    row = prepared.fetchone(_issuance_statement(), params)
    if row is None:
        return None
    issuance_id, code_id, code, issuee, created_at = row
    event = Issuance(pk=issuance_id, pool_id=pool.pk, code_id=code_id, external_issuee_id=external_issuee_id,
                     issuee_id=issuee, referring_application=integration.name,
                     referring_application_ref_id=integration.campaign.external_id,
                     created_at=created_at, updated_at=created_at)
    return event_entity(event, IncentiveCode(pk=code_id, code=code, pool_id=pool.pk))


@cache
def _issuance_statement() -> str:
    """The SQL of ``_issue_in_one_statement``, built once per process and prepared once per connection. The
    pick's conditions are literals, so the partial index of unissued codes serves it even in a generic plan."""
    qn = connection.ops.quote_name
    code_table, issuee_table, issuance_table = (
        qn(model._meta.db_table) for model in (IncentiveCode, Issuee, Issuance)
    )
    return (
        f"WITH picked AS (SELECT id FROM {code_table} WHERE pool_id = %s AND active AND issued_count = 0 "
        f"LIMIT 1 FOR UPDATE SKIP LOCKED), "
        f"bumped AS (UPDATE {code_table} AS c SET issued_count = c.issued_count + 1, "
        f"issued_unique = c.issued_unique + 1, updated_at = %s FROM picked WHERE c.id = picked.id "
        f"RETURNING c.id, c.code, c.organization_id), "
        f"issuee AS (INSERT INTO {issuee_table} (organization_id, external_issuee_id, issuee_id, created_at) "
        f"SELECT organization_id, %s, %s, %s FROM bumped "
        f"ON CONFLICT (organization_id, external_issuee_id) DO UPDATE SET external_issuee_id = "
        f"EXCLUDED.external_issuee_id RETURNING issuee_id), "
        f"issued AS (INSERT INTO {issuance_table} (code_id, pool_id, external_issuee_id, issuee_id, "
        f"referring_application, referring_application_ref_id, created_at, updated_at) "
        f"SELECT bumped.id, %s, %s, issuee.issuee_id, %s, %s, %s, %s FROM bumped, issuee "
        f"RETURNING id, code_id, issuee_id, created_at), "
        f"logged AS ({insert_interaction_sql('issued', 'NULL')}) "
        f"SELECT issued.id, issued.code_id, bumped.code, issued.issuee_id, issued.created_at "
        f"FROM issued JOIN bumped ON bumped.id = issued.code_id CROSS JOIN logged"
    )


def _pick_code(pool: IncentivePool, external_issuee_id: str) -> IncentiveCode | None:
    codes = IncentiveCode._base_manager.filter(pool_id=pool.pk, active=True).order_by()
    if pool.distribution == IncentivePool.Distribution.UNIQUE:
        # No ORDER BY (``.first()`` would add one): the planner takes the first unlocked entry of the partial
        # index of unissued codes, so a pick never walks the codes issued before; others skip the rows we hold.
        return next(iter(codes.filter(issued_count=0).select_for_update(skip_locked=True)[:1]), None)
    # A multi code is issued again and again: the issuee's own earlier code when it has one, else any.
    again = codes.filter(pk__in=Issuance._base_manager.filter(
        pool_id=pool.pk, external_issuee_id=external_issuee_id).values("code_id")).first()
    return again or codes.first()


def redeem_code(
    code: IncentiveCode,
    *,
    external_issuee_id: str,
    integration: Integration,
    draft: InteractionDraft,
    reference: str | None = None,
) -> WriteResult:
    """Redeem the code for ``external_issuee_id``: 201 with the redemption, or 200 for a replay."""

    def run() -> tuple[dict, bool]:
        pool = code.pool
        if not pool.redemption_allowed:
            raise RedemptionNotAllowed(f"Pool {pool.name!r} does not allow redeeming codes.")
        # The lock first, then a fresh read of the counts: two redemptions of one code are settled in turn.
        locked = IncentiveCode._base_manager.select_for_update().get(pk=code.pk)
        if not locked.active:
            raise CodeInactive(f"Code {locked.code!r} is not active.")
        unique = pool.distribution == IncentivePool.Distribution.UNIQUE
        if unique and locked.issued_count == 0:
            raise CodeNotIssued(f"Code {locked.code!r} has not been issued yet.")
        already = (
            locked.redeemed_count > 0
            if unique
            else Redemption._base_manager.filter(code_id=locked.pk, external_issuee_id=external_issuee_id).exists()
        )
        if already:
            raise AlreadyRedeemed(
                f"Code {locked.code!r} was already redeemed" + ("." if unique else " by this issuee.")
            )
        redemption = _record_event(Redemption, locked, pool, external_issuee_id, integration)
        # Each issuee redeems a code at most once, so every redemption is also a unique one.
        IncentiveCode._base_manager.filter(pk=locked.pk).update(
            redeemed_count=F("redeemed_count") + 1, redeemed_unique=F("redeemed_unique") + 1, updated_at=timezone.now()
        )
        return {"status": "ok", "redemption": event_entity(redemption, locked)}, False

    request = {"op": "redemption", "code": code.code, "external_issuee_id": external_issuee_id}
    return _write_logged(draft, integration, reference, request, run)


def set_codes_active(codes: models.QuerySet, active: bool) -> int:
    """Activate or deactivate the codes (a bulk action): one UPDATE, then the pools' threshold state.

    Deactivating lowers ``remaining``: pools that fall to their threshold get their email once committed.
    Activating may lift pools above it: they are re-armed. Returns how many codes changed.
    """
    changing = codes.exclude(active=active)
    with transaction.atomic():
        pool_ids = list(changing.values_list("pool_id", flat=True).distinct())
        changed = IncentiveCode._base_manager.filter(pk__in=changing.values("pk")).update(
            active=active, updated_at=timezone.now()
        )
        if active:
            rearm_pools(pool_ids)
        else:
            from .tasks import notify_pool_low  # the tasks module imports this one

            for pool_id in pools_to_notify(pool_ids):
                transaction.on_commit(partial(notify_pool_low.delay, pool_id))
    return changed


# --- the low-threshold email -------------------------------------------------------------------------


def _watched(pool: IncentivePool) -> bool:
    return bool(pool.notification_email)


def _queue_threshold_check_if_low(pool: IncentivePool) -> None:
    """After an issuance: when the armed pool is now at or below its threshold, check it once committed.

    Only a unique pool's issuance lowers ``remaining`` (a multi code stays remaining). The count stops at
    threshold + 1 codes of the partial index of unissued codes: its cost follows the threshold, not the pool.
    """
    if not _watched(pool) or pool.low_notified_at is not None:
        return
    if pool.distribution != IncentivePool.Distribution.UNIQUE:
        return
    unissued = IncentiveCode._base_manager.filter(pool_id=pool.pk, active=True, issued_count=0).order_by()
    if unissued[: pool.low_threshold + 1].count() > pool.low_threshold:
        return
    from .tasks import notify_pool_low  # the tasks module imports this one

    transaction.on_commit(lambda: notify_pool_low.delay(pool.pk))


def _remaining_sql() -> str:
    """SQL for a pool row's remaining codes (the pool table is aliased ``p``)."""
    qn = connection.ops.quote_name
    codes = qn(IncentiveCode._meta.db_table)
    return (
        f"(SELECT COUNT(*) FROM {codes} c WHERE c.pool_id = p.id AND c.active "
        f"AND (p.distribution <> 'unique' OR c.issued_count = 0))"
    )


def claim_low_notification(pool_id: int) -> bool:
    """Disarm the pool if it is armed and at or below its threshold; True for the one caller that did.

    A single conditional UPDATE: concurrent issuances, retried tasks and two beat runs all race on the row,
    and only the first to change it sees a row come back.
    """
    table = connection.ops.quote_name(IncentivePool._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET low_notified_at = %s WHERE p.id = %s AND p.low_notified_at IS NULL "
            f"AND p.notification_email <> '' AND {_remaining_sql()} <= p.low_threshold RETURNING id",
            [timezone.now(), pool_id],
        )
        return cursor.fetchone() is not None


def _among(pool_ids: list[int] | None) -> tuple[str, list[int]]:
    """SQL (and its parameters) keeping the pool rows ``p`` among ``pool_ids``; nothing to add for None.
    Plain IN, not ``= ANY``, so it also runs on SQLite (``make run`` without a database server)."""
    if pool_ids is None:
        return "", []
    if not pool_ids:
        return "AND 1 = 0", []
    return f"AND p.id IN ({', '.join(['%s'] * len(pool_ids))})", list(pool_ids)


def rearm_pools(pool_ids: list[int] | None = None) -> int:
    """Re-arm the notified pools whose remaining codes rose above their threshold again."""
    table = connection.ops.quote_name(IncentivePool._meta.db_table)
    only, params = _among(pool_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS p SET low_notified_at = NULL WHERE p.low_notified_at IS NOT NULL {only} "
            f"AND {_remaining_sql()} > p.low_threshold",
            params,
        )
        return cursor.rowcount


def pools_to_notify(pool_ids: list[int] | None = None) -> list[int]:
    """Ids of the armed, watched pools at or below their threshold (every organization, or among ``pool_ids``)."""
    table = connection.ops.quote_name(IncentivePool._meta.db_table)
    only, params = _among(pool_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p.id FROM {table} p WHERE p.low_notified_at IS NULL AND p.notification_email <> '' "
            f"AND {_remaining_sql()} <= p.low_threshold {only}",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def notify_if_low(pool_id: int) -> bool:
    """Send the pool's low-threshold email once per crossing; True when this call sent it.

    The claim and the send share a transaction: a failed send rolls the claim back, so a retry sends it.
    """
    with transaction.atomic():
        if not claim_low_notification(pool_id):
            return False
        with scopes_disabled():
            pool = IncentivePool.objects.select_related("organization").get(pk=pool_id)
        with organization_scope(pool.organization):
            send_low_threshold_email(pool)
    return True


def send_low_threshold_email(pool: IncentivePool) -> None:
    from django.urls import reverse

    counts = pool_counts(pool)
    link = getattr(settings, "SITE_URL", "").rstrip("/") + reverse("incentives:pool-detail", args=[pool.pk])
    context = {"pool": pool, "counts": counts, "link": link}
    send_mail(
        subject=f"Incentive pool {pool.name!r} is running low: {counts['remaining']} codes left",
        message=render_to_string("incentives/email/pool_low.txt", context),
        html_message=render_to_string("incentives/email/pool_low.html", context),
        from_email=None,
        recipient_list=[pool.notification_email],
    )


# --- codes from a pattern ----------------------------------------------------------------------------

# A code travels in URLs (``/api/v1/codes/{code}``): no spaces and no ``/``.
CODE_TEXT = re.compile(r"[^\s/]+")


def code_problems(code: str, max_characters: int) -> list[str]:
    """Why ``code`` cannot be a code of a pool with ``max_characters``: nothing when it can."""
    if not code:
        return ["the code is blank."]
    problems = []
    if len(code) > max_characters:
        problems.append(f"code '{code}' is {len(code)} characters long; the pool allows at most {max_characters}.")
    if not CODE_TEXT.fullmatch(code):
        problems.append(f"code '{code}' holds a space or a '/': codes are sent in URLs.")
    return problems


_PATTERN_ALPHABETS = {"#": "0123456789", "?": "ABCDEFGHJKLMNPQRSTUVWXYZ"}  # no I or O: read as 1 and 0
_SPAN_CODES = 1 << 16  # the most renderings of one span of the pattern kept in a table while generating
_INSERT_CHUNK = 50_000  # codes per INSERT statement


def pattern_capacity(pattern: str) -> int:
    """How many distinct codes the pattern can make."""
    capacity = 1
    for char in pattern:
        capacity *= len(_PATTERN_ALPHABETS.get(char, "x"))
    return capacity


def generate_codes(pool: IncentivePool, *, pattern: str, count: int) -> int:
    """Add ``count`` new codes made from ``pattern`` (``#`` a digit, ``?`` a letter) to the pool; all or none.

    Each code is a number drawn uniformly with ``secrets`` below the pattern's capacity, written out in the
    pattern's mixed radix; numbers are never drawn twice in one call. They go in by chunks with
    ``INSERT … ON CONFLICT DO NOTHING`` against the organization's unique codes, and only the shortfall is drawn
    again (oversized by the collisions seen, and then capped with ``LIMIT``). In one transaction: a pattern
    whose free codes run out adds nothing. Returns how many were added (``count``).
    """
    if not CODE_TEXT.fullmatch(pattern):
        raise DomainError("Codes travel in URLs: no spaces and no '/' in the pattern.",
                          fields={"pattern": ["Spaces or '/'."]})
    if len(pattern) > pool.max_characters:
        raise DomainError(f"Codes of this pattern are longer than the pool's {pool.max_characters} characters.",
                          fields={"pattern": ["Too long for this pool."]})
    if not any(char in _PATTERN_ALPHABETS for char in pattern):
        raise DomainError("Put # (a digit) or ? (a letter) in the pattern.", fields={"pattern": ["No placeholder."]})
    capacity = pattern_capacity(pattern)
    if count > capacity // 2:
        raise DomainError("The pattern cannot make that many distinct codes; add placeholders.",
                          fields={"count": ["Too many for this pattern."]})

    tried: set[int] = set()
    added = 0
    fresh_rate = 1.0  # the share of the last round's codes that were new to the organization
    with transaction.atomic():
        while added < count:
            wanted = count - added
            left = capacity - len(tried)
            if left <= 0:
                raise DomainError("Too few codes of this pattern are still free in the organization; add placeholders.",
                                  fields={"count": ["Too many for this pattern."]})
            size = wanted if fresh_rate >= 1 else int(wanted / max(fresh_rate, 0.01) * 1.25) + 16
            numbers = _draw_untried(capacity, min(size, left), tried)
            codes = _render(pattern, numbers)
            inserted = _insert_codes(pool, codes, limit=wanted)
            fresh_rate = inserted / len(codes)
            added += inserted
        rearm_pools([pool.pk])
    return added


def _render(pattern: str, numbers: list[int]) -> list[str]:
    """The codes of ``numbers`` (each below the pattern's capacity), in order: each number written out in the
    pattern's mixed radix.

    The pattern is cut into spans, each starting at a placeholder (the first also holds the text before it)
    and holding at most ``_SPAN_CODES`` renderings, all made up front; a number is then one digit per span,
    taken span by span over the whole list (list comprehensions, not a call per code).
    """
    cuts, size = [0], 1
    for i, char in enumerate(pattern):
        if char in _PATTERN_ALPHABETS:
            radix = len(_PATTERN_ALPHABETS[char])
            if size * radix > _SPAN_CODES and size > 1:
                cuts.append(i)
                size = 1
            size *= radix
    cuts.append(len(pattern))
    tables = [
        ["".join(chars) for chars in itertools.product(*(_PATTERN_ALPHABETS.get(char, char) for char in piece))]
        for piece in (pattern[start:end] for start, end in itertools.pairwise(cuts))
    ]
    parts, rest = [], numbers
    for table in reversed(tables[1:]):  # least significant first
        radix = len(table)
        parts.append([table[number % radix] for number in rest])
        rest = [number // radix for number in rest]
    parts.append([tables[0][number] for number in rest])
    if len(parts) == 1:
        return parts[0]
    return list(map("".join, zip(*reversed(parts), strict=True)))


def _draw_untried(capacity: int, size: int, tried: set[int]) -> list[int]:
    """``size`` distinct numbers below ``capacity``, uniformly at random (``secrets``), none of ``tried``; they
    join ``tried``."""
    left = capacity - len(tried)
    if left <= 4 * size:  # little of the space left: pick among what is left
        rest = [number for number in range(capacity) if number not in tried]
        secrets.SystemRandom().shuffle(rest)
        picked = rest[:size]
        tried.update(picked)
        return picked
    bits = (capacity - 1).bit_length()
    picked = []
    while len(picked) < size:
        need = size - len(picked)
        draws = need * 2 + 16  # at least half of the draws are below capacity
        if bits <= 64:
            mask = (1 << bits) - 1
            raw = (n & mask for (n,) in struct.iter_unpack("<Q", secrets.token_bytes(8 * draws)))
        else:
            width = (bits + 7) // 8
            shift = 8 * width - bits
            block = secrets.token_bytes(width * draws)
            raw = (int.from_bytes(block[i:i + width], "big") >> shift for i in range(0, len(block), width))
        for number in raw:
            if number < capacity and number not in tried:
                tried.add(number)
                picked.append(number)
                if len(picked) == size:
                    break
    return picked


def _insert_codes(pool: IncentivePool, codes: list[str], *, limit: int) -> int:
    """Insert at most ``limit`` of ``codes`` (distinct) into the pool, in their order, skipping the organization's
    codes; returns how many went in."""
    if connection.vendor != "postgresql":
        return _insert_codes_portably(pool, codes, limit=limit)
    meta, qn = IncentiveCode._meta, connection.ops.quote_name
    columns = ", ".join(qn(meta.get_field(name).column) for name in (
        "pool", "organization", "code", "active", "issued_count", "issued_unique", "redeemed_count",
        "redeemed_unique", "created_at", "updated_at"))
    table = qn(meta.db_table)
    now = timezone.now()
    inserted = 0
    with connection.cursor() as cursor:
        for start in range(0, len(codes), _INSERT_CHUNK):
            chunk, room = codes[start:start + _INSERT_CHUNK], limit - inserted
            if room <= 0:
                break
            if len(chunk) <= room:  # cannot overshoot: the unique constraint alone decides
                source, cap, params = "unnest(%s::text[]) AS c(code)", "", [chunk]
            else:  # more than room: skip the organization's codes first, then keep the first ``room``
                source = (
                    f"unnest(%s::text[]) WITH ORDINALITY AS c(code, n) WHERE NOT EXISTS (SELECT 1 FROM {table} x "
                    f"WHERE x.organization_id = %s AND x.code = c.code) ORDER BY c.n"
                )
                cap, params = "LIMIT %s", [chunk, pool.organization_id, room]
            cursor.execute(
                f"INSERT INTO {table} ({columns}) SELECT %s, %s, c.code, TRUE, 0, 0, 0, 0, %s, %s FROM {source} {cap} "
                f"ON CONFLICT (organization_id, code) DO NOTHING",
                [pool.pk, pool.organization_id, now, now, *params],
            )
            inserted += cursor.rowcount
    return inserted


def _insert_codes_portably(pool: IncentivePool, codes: list[str], *, limit: int) -> int:
    """``_insert_codes`` for databases other than PostgreSQL (SQLite under ``make run``): small chunks."""
    manager = IncentiveCode._base_manager
    inserted = 0
    for start in range(0, len(codes), 500):
        room = limit - inserted
        if room <= 0:
            break
        chunk = codes[start:start + 500]
        taken = set(manager.filter(organization_id=pool.organization_id, code__in=chunk).values_list("code", flat=True))
        fresh = [code for code in chunk if code not in taken][:room]
        before = manager.filter(pool_id=pool.pk).count()
        manager.bulk_create(
            [IncentiveCode(pool=pool, organization_id=pool.organization_id, code=code) for code in fresh],
            ignore_conflicts=True,
        )
        inserted += manager.filter(pool_id=pool.pk).count() - before
    return inserted
