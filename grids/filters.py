"""Pieces every grid's filterset uses."""

from functools import reduce
from operator import or_

import django_filters
from django.db.models import Q

# A from–to date range with the browser's date pickers.
DATE_RANGE = django_filters.widgets.DateRangeWidget(attrs={"type": "date"})


class SearchFilter(django_filters.CharFilter):
    """One box searching several lookups, e.g. ``SearchFilter("name__icontains", "external_id__iexact")``."""

    def __init__(self, *lookups: str, **kwargs):
        kwargs.setdefault("label", "Search")
        super().__init__(method=self.search, **kwargs)
        self.lookups = lookups

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(reduce(or_, (Q(**{lookup: value}) for lookup in self.lookups)))


def scoped(model, *, only: tuple[str, ...] = (), **filters):
    """Choices for a ModelChoiceFilter, read per request inside the organization's scope.

    A queryset built at import time would fail loudly (no scope is active then), so every choice list goes
    through this and can only ever hold the current organization's rows. ``only`` names the fields the choice
    labels (``str()`` of each row) read, when reading whole rows would cost more than the list is worth.
    """

    def queryset(request):
        rows = model.objects.filter(**filters)
        return rows.only(*only) if only else rows

    return queryset


class YesNoAnyWidget(django_filters.widgets.BooleanWidget):
    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter whose empty choice reads "Any" and leaves the query string empty."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", YesNoAnyWidget)
        super().__init__(*args, **kwargs)
