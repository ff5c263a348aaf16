"""The rows of the engagement pages' grids: counts as correlated subqueries, so a page is a constant number of
queries whatever it shows (no query per row, no join that repeats a row)."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from campaigns.models import Campaign

from ..models import BehaviorProgress, Completion, Customer, Participation
from .customers import with_tag_list


def _per_parent(rows: QuerySet, parent: str, aggregate) -> Coalesce:
    counted = rows.filter(**{parent: OuterRef("pk")}).order_by().values(parent).annotate(n=aggregate).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def customer_rows() -> QuerySet:
    """The organization's customers (the request's scope), with their tags and how many campaigns they are in."""
    return with_tag_list(Customer.objects.all()).annotate(
        participation_count=_per_parent(Participation._base_manager.all(), "customer_id", Count("id")),
    )


def participation_rows(campaign: Campaign) -> QuerySet:
    """The campaign's participations, with their customer, counted events and completions (claims apart)."""
    return (Participation.objects.filter(campaign=campaign).select_related("customer").annotate(
        counted_events=_per_parent(BehaviorProgress._base_manager.all(), "participation_id", Sum("counted")),
        completion_count=_per_parent(Completion._base_manager.filter(behavior__isnull=False), "participation_id",
                                     Count("id")),
    ))
