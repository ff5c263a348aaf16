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
