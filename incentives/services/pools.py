"""Incentive pools (design §5): the one rule of a remaining code, a pool's counts, and what a key reaches.

Counts are always computed from the code rows; each code row carries its own issuance and redemption counts,
changed with ``F()`` in the transaction that writes the issuance or redemption.
"""

from django.db import models
from django.db.models import Count, Q, Sum
from django.db.models.functions import Coalesce

from campaigns.models import Campaign, Integration
from core.errors import NotFound

from ..models import IncentiveCode, IncentivePool

UNIQUE = IncentivePool.Distribution.UNIQUE


def remaining_codes(distribution: str | None = None) -> Q:
    """The one rule of a remaining code (design §5): active, and in a unique pool never issued.

    Given the pool's ``distribution``, the rule for that pool's codes; without it, the rule seen from any code
    row, through its pool.
    """
    never_issued = Q(issued_count=0)
    if distribution is None:
        return Q(active=True) & (~Q(pool__distribution=UNIQUE) | never_issued)
    return Q(active=True) & never_issued if distribution == UNIQUE else Q(active=True)


def with_counts(pools: models.QuerySet) -> models.QuerySet:
    """Pools annotated with ``total``, ``issued`` and ``remaining``, from their code rows (subqueries)."""
    return pools.annotate(total=_counted(Count("pk")), issued=_counted(Sum("issued_count")),
                          remaining=remaining_count())


def remaining_count() -> Coalesce:
    """A pool row's remaining codes, as a subquery over its codes."""
    return _counted(Count("pk"), remaining_codes())


def _counted(expression, *filters) -> Coalesce:
    codes = IncentiveCode._base_manager.filter(pool=models.OuterRef("pk")).order_by().values("pool")
    return Coalesce(models.Subquery(codes.filter(*filters).annotate(n=expression).values("n")), 0)


def pool_counts(pool: IncentivePool) -> dict[str, int]:
    """``total``, ``issued`` and ``remaining`` of one pool, in one aggregate query over its codes."""
    counts = IncentiveCode._base_manager.filter(pool_id=pool.pk).aggregate(
        total=Count("pk"), issued=Coalesce(Sum("issued_count"), 0),
        remaining=Count("pk", filter=remaining_codes(pool.distribution)),
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
