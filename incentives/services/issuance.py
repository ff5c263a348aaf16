"""Issuing and redeeming codes (design §5, §8), race-free and idempotent like the award.

A unique pool's pick is ``FOR UPDATE SKIP LOCKED`` without ordering, so concurrent issuances never wait on each
other nor share a code; on PostgreSQL it is one statement (pick, count, issuee, issuance, interaction). A
redemption locks its code row first and reads the counts after the lock.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Integration
from campaigns.services.statuses import check_may_write
from core import sql
from core.errors import Conflict
from interactions.models import Interaction
from interactions.services.idempotency import Written, idempotent_write
from interactions.services.log import InteractionDraft, insert_interaction_sql

from ..models import IncentiveCode, IncentivePool, Issuance, Issuee, Redemption
from .pools import UNIQUE, remaining_codes
from .thresholds import queue_check_if_low


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
class CodeEvent:
    """An issuance or a redemption of a code, as 003 names its parts."""

    id: int
    code: str
    pool_id: int
    external_issuee_id: str
    issuee_id: uuid.UUID
    referring_application: str
    referring_application_ref_id: str
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, event: Issuance | Redemption, code: str) -> "CodeEvent":
        return cls(
            id=event.pk, code=code, pool_id=event.pool_id, external_issuee_id=event.external_issuee_id,
            issuee_id=event.issuee_id, referring_application=event.referring_application,
            referring_application_ref_id=event.referring_application_ref_id, created_at=event.created_at,
            updated_at=event.updated_at,
        )


def issue_code(
    pool: IncentivePool,
    *,
    external_issuee_id: str,
    integration: Integration,
    draft: InteractionDraft,
    reference: str | None = None,
) -> Written[CodeEvent]:
    """Issue one code of the pool to ``external_issuee_id`` (or replay the first issuance of ``reference``).

    A unique pool on PostgreSQL issues in one statement (``_issue_in_one_statement``); a multi pool, or another
    database, in ORM steps inside the transaction.
    """
    one_statement = pool.distribution == UNIQUE and connection.vendor == "postgresql"

    def write() -> tuple[CodeEvent, bool]:
        check_may_write(integration)
        if not pool.issuance_allowed:
            raise IssuanceNotAllowed(f"Pool {pool.name!r} does not allow issuing codes.")
        if one_statement:
            event = _issue_in_one_statement(pool, external_issuee_id, integration, draft)
        else:
            event = issue_in_steps(pool, external_issuee_id, integration)
        if event is None:
            raise PoolExhausted(f"Pool {pool.name!r} has no code left to issue.")
        queue_check_if_low(pool)
        return event, one_statement

    request = {"op": "issuance", "pool": pool.pk, "external_issuee_id": external_issuee_id}
    return idempotent_write(draft, CodeEvent, reference=reference, request=request, write=write,
                            one_statement=one_statement)


def redeem_code(
    code: IncentiveCode,
    *,
    external_issuee_id: str,
    integration: Integration,
    draft: InteractionDraft,
    reference: str | None = None,
) -> Written[CodeEvent]:
    """Redeem the code for ``external_issuee_id`` (or replay the first redemption of ``reference``)."""

    def write() -> tuple[CodeEvent, bool]:
        check_may_write(integration)
        pool = code.pool
        if not pool.redemption_allowed:
            raise RedemptionNotAllowed(f"Pool {pool.name!r} does not allow redeeming codes.")
        # The lock first, then a fresh read of the counts: two redemptions of one code are settled in turn.
        locked = IncentiveCode._base_manager.select_for_update().get(pk=code.pk)
        if not locked.active:
            raise CodeInactive(f"Code {locked.code!r} is not active.")
        unique = pool.distribution == UNIQUE
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
        redemption = _record(Redemption, locked, pool, external_issuee_id, integration)
        # Each issuee redeems a code at most once, so every redemption is also a unique one.
        IncentiveCode._base_manager.filter(pk=locked.pk).update(
            redeemed_count=F("redeemed_count") + 1, redeemed_unique=F("redeemed_unique") + 1, updated_at=timezone.now()
        )
        return CodeEvent.of(redemption, locked.code), False

    request = {"op": "redemption", "code": code.code, "external_issuee_id": external_issuee_id}
    return idempotent_write(draft, CodeEvent, reference=reference, request=request, write=write)


def issuee_id_for(organization_id: int, external_issuee_id: str) -> uuid.UUID:
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


def _record(
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


def issue_in_steps(pool: IncentivePool, external_issuee_id: str, integration: Integration) -> CodeEvent | None:
    """Issue one code of the pool in ORM steps inside the caller's transaction (the code row stays locked until
    it ends), or None when none is left. No reference, no interaction: the caller brings those."""
    code = _pick_code(pool, external_issuee_id)
    if code is None:
        return None
    first_for_issuee = True
    if pool.distribution != UNIQUE:
        sql.advisory_lock(f"issuance:{code.pk}:{external_issuee_id}")
        first_for_issuee = not Issuance._base_manager.filter(
            code_id=code.pk, external_issuee_id=external_issuee_id
        ).exists()
    issuance = _record(Issuance, code, pool, external_issuee_id, integration)
    IncentiveCode._base_manager.filter(pk=code.pk).update(
        issued_count=F("issued_count") + 1,
        issued_unique=F("issued_unique") + int(first_for_issuee),
        updated_at=timezone.now(),
    )
    return CodeEvent.of(issuance, code.code)


def _pick_code(pool: IncentivePool, external_issuee_id: str) -> IncentiveCode | None:
    codes = IncentiveCode._base_manager.filter(remaining_codes(pool.distribution), pool_id=pool.pk).order_by()
    if pool.distribution == UNIQUE:
        return next(iter(_unique_pick(codes)), None)
    # A multi code is issued again and again: the issuee's own earlier code when it has one, else any.
    again = codes.filter(pk__in=Issuance._base_manager.filter(
        pool_id=pool.pk, external_issuee_id=external_issuee_id).values("code_id")).first()
    return again or codes.first()


def _unique_pick(codes):
    """No ORDER BY (``.first()`` would add one): the planner takes the first unlocked entry of the partial index
    of unissued codes, so a pick never walks the codes issued before; others skip the rows we hold."""
    return codes.select_for_update(skip_locked=True)[:1]


def _issue_in_one_statement(
    pool: IncentivePool, external_issuee_id: str, integration: Integration, draft: InteractionDraft
) -> CodeEvent | None:
    """A unique pool's issuance as one statement, like the award: pick an unissued code (SKIP LOCKED, no
    ORDER BY), count it issued, make or find the issuee, write the issuance and the request's interaction.
    None when no code is left (nothing written)."""
    now = timezone.now()
    application, campaign_ref = integration.name, integration.campaign.external_id
    params = [
        pool.pk, now,
        external_issuee_id, uuid.uuid4(), now,
        pool.pk, external_issuee_id, application, campaign_ref, now, now,
        *draft.insert_params(),
    ]
    row = sql.fetchone(_issuance_statement(), params)
    if row is None:
        return None
    issuance_id, code_id, code, issuee, created_at = row
    return CodeEvent(
        id=issuance_id, code=code, pool_id=pool.pk, external_issuee_id=external_issuee_id, issuee_id=issuee,
        referring_application=application, referring_application_ref_id=campaign_ref, created_at=created_at,
        updated_at=created_at,
    )


_POOL = -7_654_321  # stands for the pool's id while the pick is compiled


@cache
def _issuance_statement() -> str:
    """The SQL of ``_issue_in_one_statement``, built once per process and prepared once per connection. The
    pick is the ORM's (the remaining rule of ``pools``) with its conditions written in as literals, so the
    partial index of unissued codes serves it even in a generic plan; the pool stays a parameter."""
    qn = connection.ops.quote_name
    code_table, issuee_table, issuance_table = (
        qn(model._meta.db_table) for model in (IncentiveCode, Issuee, Issuance)
    )
    with transaction.atomic(savepoint=False):  # select_for_update compiles only inside a transaction
        codes = IncentiveCode._base_manager.filter(remaining_codes(UNIQUE), pool_id=_POOL).order_by().values("pk")
        pick_sql, pick_params = _unique_pick(codes).query.sql_with_params()
    keep = frozenset({list(pick_params).index(_POOL)})
    return (
        f"WITH picked (id) AS ({sql.inline(pick_sql, pick_params, keep=keep)}), "
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
