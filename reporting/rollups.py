"""Rolling closed hours of interactions up into ``InteractionRollup`` and ``CampaignHourTotals`` (design §11).

One run, in one transaction: lock the watermarks of the organizations with hours to roll (FOR UPDATE, so a
second run started meanwhile waits, then finds nothing left to do), delete any rows of those hours (none,
unless a watermark was moved back by hand), insert the hours' groups with one INSERT … SELECT … GROUP BY,
fold them into per-campaign hourly totals with another, and move the watermarks. Running it twice, or twice
at once, gives the same rows.

Only hours closed for ``REPORTING_ROLLUP_GRACE`` (5 minutes by default) are rolled up, so an interaction
whose transaction commits a moment after its hour ends is still counted; pages read every later hour from
the interactions themselves. An interaction inserted afterwards with an older ``created_at`` (a data
import) needs ``manage.py roll_up_interactions --rebuild``.
"""

import logging
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Organization
from incentives.models import Voucher
from interactions.models import Interaction, awarded

from .models import CampaignHourTotals, InteractionRollup, RollupWatermark

logger = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(minutes=5)
BEGINNING = datetime(1, 1, 1, tzinfo=UTC)  # "since ever", for an organization with nothing rolled up yet


def use_rollups() -> bool:
    """Rollups are on unless ``REPORTING_USE_ROLLUPS`` is False (tests compare both ways)."""
    return getattr(settings, "REPORTING_USE_ROLLUPS", True)


def rolled_until(organization_id: int) -> datetime | None:
    """Every interaction of the organization before this instant is in the rollups (None: nothing is)."""
    if not use_rollups():
        return None
    return (
        RollupWatermark.objects.filter(organization_id=organization_id)
        .values_list("rolled_until", flat=True).first()
    )


def closed_until(now: datetime | None = None) -> datetime:
    """The end of the last hour closed for the grace period: rollups stop there."""
    grace = getattr(settings, "REPORTING_ROLLUP_GRACE", DEFAULT_GRACE)
    return ((now or timezone.now()) - grace).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def roll_up_interactions(now: datetime | None = None, *, rebuild: bool = False) -> int:
    """Roll every closed hour not yet rolled up, for every organization; returns the rollup rows written.

    ``rebuild`` rolls every organization up again from its first interaction, replacing its rows (in the
    same transaction: pages see the old rows or the new ones, never neither).
    """
    if connection.vendor != "postgresql":
        logger.info("Interaction rollups need PostgreSQL: pages read the interactions themselves.")
        return 0
    target = closed_until(now)
    rollup, totals, watermark = _table(InteractionRollup), _table(CampaignHourTotals), _table(RollupWatermark)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {watermark} (organization_id, rolled_until, updated_at) "
            f"SELECT id, NULL, now() FROM {_table(Organization)} ON CONFLICT (organization_id) DO NOTHING"
        )
        due = "TRUE" if rebuild else "(rolled_until IS NULL OR rolled_until < %s)"
        cursor.execute(
            f"SELECT organization_id, rolled_until FROM {watermark} WHERE {due} ORDER BY organization_id FOR UPDATE",
            [] if rebuild else [target],
        )
        # Organizations by the start of what they have to roll (usually one start for all): constant bounds let
        # every statement range-scan (organization, created_at) or (organization, hour).
        since: dict[datetime, list[int]] = defaultdict(list)
        for organization_id, rolled in cursor.fetchall():
            since[BEGINNING if rebuild or rolled is None else rolled].append(organization_id)
        written = 0
        for start, organizations in since.items():
            for table in (rollup, totals):  # rows of those hours: none, unless rebuilding or a watermark moved back
                cursor.execute(f"DELETE FROM {table} WHERE organization_id = ANY(%s) AND hour >= %s",
                               [organizations, start])
            cursor.execute(
                f"INSERT INTO {rollup} (organization_id, campaign_id, hour, kind, outcome, http_status, error_code, "
                f"voucher_vendor, voucher_amount, voucher_currency, voucher_is_test, count) {rollup_select_sql()}",
                [organizations, start, target],
            )
            written += cursor.rowcount
            totals_sql, totals_params = _totals_select(organizations, start, target)
            cursor.execute(
                f"INSERT INTO {totals} (organization_id, campaign_id, hour, interactions, awarded, out_of_stock, "
                f"errors, exceptions) {totals_sql}",
                totals_params,
            )
        every = [organization_id for organizations in since.values() for organization_id in organizations]
        if not every:
            return 0
        cursor.execute(
            f"UPDATE {watermark} SET rolled_until = %s, updated_at = now() WHERE organization_id = ANY(%s)",
            [target, every],
        )
    logger.info("Rolled up interactions until %s for %d organization(s): %d rows.", target, len(every), written)
    return written


def _totals_select(organizations: list[int], start: datetime, end: datetime) -> tuple[str, tuple]:
    """The hours' totals per campaign, from their rollup rows: the summary counts of ``reporting.queries``, with
    "awarded" the one rule of ``interactions.models.awarded``."""
    def counted(condition: Q | None = None) -> Coalesce:
        return Coalesce(Sum("count", filter=condition), 0)

    rows = (
        InteractionRollup._base_manager.filter(organization_id__in=organizations, hour__gte=start, hour__lt=end)
        .order_by().values("organization_id", "campaign_id", "hour")
        .annotate(
            interactions=Sum("count"), awarded=counted(awarded("voucher_vendor")),
            out_of_stock=counted(Q(outcome=Interaction.Outcome.OUT_OF_STOCK)),
            errors=counted(Q(outcome=Interaction.Outcome.ERROR)),
            exceptions=counted(Q(outcome=Interaction.Outcome.EXCEPTION)),
        )
    )
    return rows.query.sql_with_params()


def rollup_select_sql() -> str:
    """The groups of the hours to roll. Parameters: the organizations (an array), the start of the first hour
    and the end of the last one."""
    interaction, voucher = _table(Interaction), _table(Voucher)
    return f"""
        SELECT i.organization_id, i.campaign_id, date_trunc('hour', i.created_at, 'UTC'), i.kind, i.outcome,
               i.http_status, i.error_code, v.vendor, v.amount, v.currency, v.is_test, count(*)
        FROM {interaction} i
        LEFT JOIN {voucher} v ON v.id = i.voucher_id
        WHERE i.organization_id = ANY(%s) AND i.created_at >= %s AND i.created_at < %s AND i.campaign_id IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
    """


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)
