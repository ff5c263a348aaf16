"""Shared table pieces."""

import django_tables2 as tables
from django.utils.html import format_html


class GridTable(tables.Table):
    """The base of every grid's table: Bootstrap look, sortable, and a paginator the grid view drives."""

    # column name -> ORM path, when a column's download should read another path than its accessor
    export_paths: dict[str, str] = {}
    # column name -> {value: label}, for annotated columns whose values need a label in downloads
    export_labels: dict[str, dict] = {}

    class Meta:
        attrs = {"class": "table table-hover table-sm align-middle mb-0"}
        template_name = "django_tables2/bootstrap5.html"
        orderable = True


class StatusColumn(tables.Column):
    """A choice shown as a badge whose colour follows the value (text stays, so it reads without colour)."""

    def render(self, value, record, bound_column):
        raw = bound_column.accessor.resolve(record)
        return format_html('<span class="badge status-badge status-{}" data-status="{}">{}</span>', raw, raw, value)


class YesNoColumn(tables.BooleanColumn):
    def render(self, value, record, bound_column):
        return "YES" if value else "NO"


class SelectColumn(tables.CheckBoxColumn):
    """The row's checkbox for the grid's bulk actions: it belongs to the page's bulk form, not the table."""

    def __init__(self, **kwargs):
        attrs = {
            "th__input": {"form": "bulk-form", "data-select-all": "selected", "aria-label": "Select all rows"},
            "td__input": {"form": "bulk-form", "name": "selected", "aria-label": "Select row"},
        }
        super().__init__(accessor="pk", attrs=attrs, exclude_from_export=True, **kwargs)
