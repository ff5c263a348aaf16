"""What a grid keeps from members who are not admins beyond masking its secrets (design §9): any way to probe them.

A secret column (``SecretColumn``) is masked on screen and left out of downloads; a filter that reads its field
would still tell a code from a wrong guess (``?code=…`` matches or not, a prefix narrows it letter by letter), and
sorting by it would order the masked values. So for such members the grid drops every filter that reads a secret
column's field (its field from the form, its value from the query), and no secret column sorts. Both are derived
from the grid's own table and filterset, so a new secret column or filter is covered without a word more.
"""

from dataclasses import dataclass
from functools import cache

from django.http import QueryDict
from django_filters import FilterSet
from django_tables2 import Table
from django_tables2.utils import Accessor, OrderBy

from .filters import SearchFilter
from .tables import SecretColumn


@dataclass(frozen=True)
class Probes:
    """A grid's ways to probe its secrets: the secret columns (sort keys) and the filters reading them."""

    columns: frozenset[str]
    fields: frozenset[str]  # the model paths the secret columns read (``code``, ``voucher__code``)
    filters: frozenset[str]
    params: frozenset[str]  # the secret filters' query parameters
    sort_param: str

    def withhold(self, query: QueryDict) -> QueryDict:
        """``query`` without the secret filters' values and the sorts on secret columns."""
        kept = query.copy()
        for name in self.params & set(kept):
            del kept[name]
        if self.sort_param in kept:
            sorts = [alias for value in kept.getlist(self.sort_param) for alias in value.split(",")
                     if OrderBy(alias).bare not in self.columns]
            kept.setlist(self.sort_param, [",".join(sorts)] if sorts else [])
        return kept

    def drop_filters(self, filterset: FilterSet) -> None:
        """Take the secret filters out of a filterset before its form is built: not shown, never applied."""
        for name in self.filters:
            filterset.filters.pop(name, None)

    def unsort(self, table: Table) -> None:
        """Make the table's secret columns unsortable (no sort link; a ``sort`` naming one is ignored)."""
        for name in self.columns & set(table.columns.names()):
            table.columns[name].column.orderable = False

    def ordering(self, terms: list) -> list:
        """A queryset's ordering without the terms on secret fields (a model ordered by its code, by default)."""
        return [term for term in terms
                if not (isinstance(term, str) and any(_reads(term.lstrip("-"), field) for field in self.fields))]


@cache
def probes_of(table_class: type[Table], filterset_class: type[FilterSet]) -> Probes:
    """The probes of the grid of ``table_class`` over ``filterset_class``, worked out once per pair."""
    secrets = {name: "__".join(Accessor(column.accessor or name).bits)
               for name, column in table_class.base_columns.items() if isinstance(column, SecretColumn)}
    filters = {name: filter_ for name, filter_ in filterset_class.base_filters.items()
               if any(_reads(path, field) for path in _paths(filter_) for field in secrets.values())}
    params = frozenset(param for name, filter_ in filters.items() for param in _params(name, filter_))
    return Probes(frozenset(secrets), frozenset(secrets.values()), frozenset(filters), params,
                  table_class._meta.order_by_field)


def _paths(filter_) -> list[str]:
    """The model paths a filter reads: its field, and a search box's lookups."""
    paths = [filter_.field_name] if filter_.field_name else []
    if isinstance(filter_, SearchFilter):
        paths += filter_.lookups
    return paths


def _params(name: str, filter_) -> list[str]:
    """A filter's query parameters: its name, or one per part of a multi-part widget (``created_at_after``)."""
    widget = filter_.extra.get("widget") or filter_.field_class.widget
    suffixes = getattr(widget, "suffixes", ())
    return [f"{name}_{suffix}" if suffix else name for suffix in suffixes] or [name]


def _reads(path: str, field: str) -> bool:
    """Whether a filter path (``code``, ``code__istartswith``, ``voucher__code``) reads ``field``."""
    return path == field or path.startswith(f"{field}__")
