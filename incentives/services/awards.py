"""Awarding a voucher (design §3, §4, §8): the rules the API's ``POST /api/v1/awards`` runs.

The award is one SQL statement, atomic on its own: pick an available voucher of the type with
``FOR UPDATE SKIP LOCKED`` (concurrent awards never wait on each other, nor take the same voucher), write its
interaction, and mark it awarded. It is compiled once per process and type and prepared once per connection
(``core.sql``). A ``reference`` adds a transaction that claims an idempotency row first; a
``max_awards_per_redeemer`` cap serializes the redeemer's awards on advisory locks before counting.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.db import connection, models, transaction
from django.db.models.functions import Now
from django.utils import timezone

from campaigns.models import Campaign, Integration
from campaigns.services.statuses import check_may_write
from core import sql
from core.errors import Conflict, DomainError
from interactions.models import AWARDED, Interaction
from interactions.services.idempotency import Written, idempotent_write
from interactions.services.log import InteractionDraft, Redeemer, insert_interaction_sql

from ..models import Voucher
from .vouchers import available, campaign_vouchers, linked_vault_ids


class UnknownVendor(DomainError):
    code = "unknown_vendor"


class OutOfVouchers(Conflict):
    code = "out_of_vouchers"
    outcome = Interaction.Outcome.OUT_OF_STOCK


class RedeemerLimitReached(Conflict):
    code = "redeemer_limit_reached"


@dataclass(frozen=True)
class Award:
    """A voucher given away: the award's interaction and the voucher as the redeemer receives it."""

    id: int  # the interaction that awarded it
    code: str
    pin: str | None
    vendor: str
    amount: Decimal
    currency: str
    expires_at: datetime | None
    test: bool
    campaign: str  # the campaign's external_id


def award_voucher(
    integration: Integration,
    *,
    vendor: str,
    amount: Decimal,
    currency: str | None,
    redeemer: Redeemer,
    reference: str | None = None,
    draft: InteractionDraft,
) -> Written[Award]:
    """Give one available voucher of the type (vendor, amount, currency) to the redeemer.

    ``draft`` is the request's interaction: a new award writes it with the award (and marks it written);
    otherwise the caller writes it with the outcome. Raises the API's domain errors.
    """
    campaign = integration.campaign
    currency = currency or campaign.organization.default_currency
    now = timezone.now()

    def write() -> tuple[Award, bool]:
        check_may_write(integration, now=now)
        if campaign.max_awards_per_redeemer is not None:
            check_redeemer_limit(campaign, redeemer)
        row = pick_and_award(
            draft, vendor=vendor, amount=amount, currency=currency,
            is_test=integration.status == Integration.Status.TEST, now=now,
        )
        if row is None:
            raise _why_none(campaign, vendor=vendor, amount=amount, currency=currency)
        return award_of(row, campaign), True

    request = {"vendor": vendor, "amount": amount, "currency": currency, "redeemer": redeemer.identifiers()}
    # Uncapped, the award is one statement, atomic by itself: no BEGIN and COMMIT round trips.
    return idempotent_write(draft, Award, reference=reference, request=request, write=write,
                            one_statement=campaign.max_awards_per_redeemer is None)


def check_redeemer_limit(campaign: Campaign, redeemer: Redeemer) -> None:
    """Refuse when the redeemer, known by any identifier it gave, has its cap of awards in the campaign.

    Serialized per (campaign, identifier) on transaction-scoped advisory locks, taken in one order so two
    requests naming the same identifiers never deadlock; the count runs after them, on a fresh snapshot.
    """
    identifiers = redeemer.identifiers()
    sql.advisory_lock(*(f"award-redeemer:{campaign.pk}:{column}:{value}" for column, value in identifiers.items()))
    anyone = models.Q()
    for column, value in identifiers.items():
        anyone |= models.Q(**{column: value})
    awarded = Interaction._base_manager.filter(AWARDED, anyone, campaign_id=campaign.pk).count()
    if awarded >= campaign.max_awards_per_redeemer:
        raise RedeemerLimitReached(
            f"This redeemer already has {awarded} award(s) in this campaign, its limit.",
        )


def _pick(
    vault_ids: tuple[int, ...], vendor: str, amount: Decimal, currency: str, is_test: bool, after: int | None = None
):
    """Available when the statement runs (never an expired voucher: the database's own clock, so the statement
    compiled once per type has no parameter for it and its plan stays the one of its literals).

    Unordered, the planner takes whatever finds a row soonest (a sequential scan on a big vault of one type),
    and never sorts. Past ``after`` (the last voucher this process awarded of the type), in id order: an index
    range scan that starts at the frontier, so vouchers already awarded are never walked however many they are.
    An ``ORDER BY id`` alone is the trap: the primary key walked from the start, past every awarded voucher.
    """
    vouchers = Voucher._base_manager.filter(
        vault_id__in=vault_ids,
        vendor=vendor,
        amount=amount,
        currency=currency,
        is_test=is_test,
    ).filter(available(Now()))
    vouchers = vouchers.order_by() if after is None else vouchers.filter(pk__gt=after).order_by("pk")
    return vouchers.select_for_update(skip_locked=True, of=("self",)).values("pk")[:1]


# The voucher's columns an award returns, in this order.
VOUCHER_COLUMNS = ("id", "code", "pin", "vendor", "amount", "currency", "expires_at", "is_test")

# Per process and voucher type: the last voucher this process awarded. A hint for where to look first, never a
# promise: what it misses (vouchers freed behind it, a first award) the unbounded pick finds.
_frontier: dict[tuple, int] = {}
_FRONTIER_SIZE = 1024
_AFTER = -7_654_321  # stands for the frontier while the bounded statement is compiled


def frontier(voucher_type: tuple) -> int | None:
    """The last voucher of the type (vault ids, vendor, amount, currency, is_test) this process awarded."""
    return _frontier.get(voucher_type)


def note_awarded(voucher_type: tuple, voucher_id: int) -> None:
    if len(_frontier) >= _FRONTIER_SIZE:
        _frontier.clear()
    _frontier[voucher_type] = voucher_id


def pick_and_award(
    draft: InteractionDraft, *, vendor: str, amount: Decimal, currency: str, is_test: bool, now: datetime
) -> dict[str, Any] | None:
    """One statement: pick, log (the draft's interaction, with the voucher), award. Returns the awarded voucher's
    columns and the interaction id, or None when no voucher of the type is available. No reference, no cap, no
    status check: ``award_voucher`` and engagement's outcomes (which claim their own reference) add those."""
    vault_ids = linked_vault_ids(draft.integration.campaign)
    if not vault_ids:
        return None
    voucher_type = (vault_ids, vendor, amount, currency, is_test)
    if connection.vendor != "postgresql":
        return _pick_and_award_portably(draft, voucher_type, now)
    tail = [*draft.insert_params(), Voucher.Status.AWARDED, now]
    row = None
    after = _frontier.get(voucher_type)
    if after is not None:
        row = sql.fetchone(_award_statement(*voucher_type, bounded=True), [after, *tail])
    if row is None:
        row = sql.fetchone(_award_statement(*voucher_type, bounded=False), tail)
    if row is None:
        return None
    note_awarded(voucher_type, row[1])
    return dict(zip(("interaction_id", "voucher_id", *VOUCHER_COLUMNS[1:]), row, strict=True))


def _pick_and_award_portably(draft: InteractionDraft, voucher_type: tuple, now: datetime) -> dict[str, Any] | None:
    """The same award in ORM steps, for databases without data-modifying CTEs (SQLite for ``make run``, where
    writes are serialized anyway). The interaction is written by the caller's transaction or its own."""
    with transaction.atomic():
        picked = next(iter(_pick(*voucher_type)), None)
        if picked is None:
            return None
        interaction = Interaction._base_manager.create(**draft.values(voucher_id=picked["pk"]))
        Voucher._base_manager.filter(pk=picked["pk"]).update(
            status=Voucher.Status.AWARDED, awarded_at=now, interaction_id=interaction.pk
        )
        voucher = Voucher._base_manager.values_list(*VOUCHER_COLUMNS).get(pk=picked["pk"])
    return dict(zip(("interaction_id", "voucher_id", *VOUCHER_COLUMNS[1:]), (interaction.pk, *voucher), strict=True))


@lru_cache(maxsize=1024)
def _award_statement(
    vault_ids: tuple[int, ...], vendor: str, amount: Decimal, currency: str, is_test: bool, *, bounded: bool
) -> str:
    """The award's SQL for one voucher type, compiled once per process and prepared once per connection.

    The pick's values are written in (a process serves the same few types again and again, and the partial
    index's predicate matches only literals); what changes per request is a parameter: the frontier first when
    ``bounded``, then the interaction's values, then the voucher's new status and award time.
    """
    qn = connection.ops.quote_name
    meta = Voucher._meta
    table = qn(meta.db_table)
    returning = ", ".join(f"{table}.{qn(meta.get_field(name).column)}" for name in VOUCHER_COLUMNS)
    return (
        f"WITH picked (id) AS ({pick_sql(vault_ids, vendor, amount, currency, is_test, bounded=bounded)}), "
        f"logged AS ({insert_interaction_sql('picked', 'picked.id')}) "
        f"UPDATE {table} SET {qn('status')} = %s, {qn('awarded_at')} = %s, {qn('interaction_id')} = logged.id "
        f"FROM logged WHERE {table}.{qn('id')} = logged.{qn('voucher_id')} "
        f"RETURNING logged.id, {returning}"
    )


@lru_cache(maxsize=1024)
def pick_sql(
    vault_ids: tuple[int, ...], vendor: str, amount: Decimal, currency: str, is_test: bool, *, bounded: bool
) -> str:
    """The award's pick for one voucher type, its values written in, for a statement that awards in a CTE of its
    own (engagement's completing event): ``SELECT id AS pk … FOR UPDATE SKIP LOCKED LIMIT 1``. When ``bounded``,
    past the one parameter it keeps: the type's ``frontier``."""
    with transaction.atomic(savepoint=False):  # select_for_update compiles only inside a transaction
        pick = _pick(vault_ids, vendor, amount, currency, is_test, _AFTER if bounded else None)
        pick_sql_, pick_params = pick.query.sql_with_params()
    keep = frozenset({list(pick_params).index(_AFTER)}) if bounded else frozenset()
    return sql.inline(pick_sql_, pick_params, keep=keep)



def award_of(row: dict[str, Any], campaign: Campaign) -> Award:
    return Award(
        id=row["interaction_id"], code=row["code"], pin=row["pin"] or None, vendor=row["vendor"],
        amount=row["amount"], currency=row["currency"], expires_at=row["expires_at"], test=row["is_test"],
        campaign=campaign.external_id,
    )


def _why_none(campaign: Campaign, *, vendor: str, amount: Decimal, currency: str) -> DomainError:
    """No voucher was picked: the type ran out, or the vendor is unknown to every linked vault."""
    if campaign_vouchers(campaign).filter(vendor=vendor).exists():
        return OutOfVouchers(f"No {vendor} {amount} {currency} voucher is available.")
    return UnknownVendor(
        f"No vault linked to this campaign holds {vendor} vouchers.", fields={"vendor": ["Unknown vendor."]}
    )
