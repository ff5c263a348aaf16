"""Shared table pieces."""

import re
from html import escape as html_escape
from urllib.parse import urlencode

import django_tables2 as tables
from django.db import models
from django.db.models import Q
from django.template import Context, Template
from django.template.base import render_value_in_context
from django.template.defaultfilters import date as date_filter
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import Accessor, signature


class GridTable(tables.Table):
    """The base of every grid's table: Bootstrap look, sortable, and a paginator the grid view drives."""

    # column name -> ORM path, when a column's download should read another path than its accessor
    export_paths: dict[str, str] = {}
    # column name -> {value: label}, for annotated columns whose values need a label in downloads
    export_labels: dict[str, dict] = {}

    class Meta:
        attrs = {"class": "table table-hover table-sm align-middle mb-0"}
        template_name = "grids/table.html"  # django-tables2's bootstrap5.html, its rows from rows_html()
        orderable = True

    def header_html(self):
        """The header row's ``<th>``s, as django-tables2's bootstrap5 template writes them: each sortable header
        links to this page's query string with ``sort`` set to the column's next ordering."""
        request = getattr(self, "request", None)  # set by the grid
        params = dict(request.GET) if request is not None else {}
        sort_field = self.prefixed_order_by_field
        context = Context()
        cells = []
        for column in self.columns:
            header = render_value_in_context(column.header, context)
            if column.orderable:
                query = escape("?" + urlencode({**params, sort_field: column.order_by_alias.next}, doseq=True))
                header = f'<a href="{query}">{header}</a>'
            cells.append(f'<th {column.attrs["th"].as_html()} scope="col">{header}</th>')
        return mark_safe("\n".join(cells))  # noqa: S308  (escaped above)

    def rows_html(self):
        """The page's ``<tr>`` rows (or the empty text's), as django-tables2's bootstrap5 template writes them.

        That template costs about 35 µs a cell: it rebuilds the cell's attributes, inspects the render method's
        signature and resolves the accessor the slow way for every cell, and a date column compiles a template
        per cell. Here each column's work is done once per page (``CellWriter``), so a cell costs a few µs.
        """
        writers = [CellWriter(bound) for bound in self.columns]
        context = Context()  # what ``{{ cell }}`` renders with: autoescape, the current time zone, localized
        plain_rows = not self.row_attrs
        html = []
        for row in self.paginated_rows:
            if plain_rows and type(row) is BoundRow:
                attrs = f'class="{row.get_even_odd_css_class()}"'
            else:
                attrs = row.attrs.as_html()
            html.append(f"<tr {attrs}>{''.join([writer.td(row, context) for writer in writers])}</tr>")
        if not html and self.empty_text:
            html.append(format_html('<tr><td colspan="{}">{}</td></tr>', len(self.columns), self.empty_text))
        return mark_safe("\n".join(html))  # noqa: S308  (every piece above is escaped or built from safe parts)


# The template of django-tables2's DateTimeColumn and DateColumn: formatted here without compiling it per cell.
_DATE_TEMPLATE = re.compile(r'\{\{ value\|date:"([^"]*)"\|default:default \}\}')
_RENDER_KWARGS = frozenset({"value", "record", "column", "bound_column", "bound_row", "table"})
_SLOW = object()
_SIGNATURES = {}  # render function -> django-tables2's signature() of it, bound (so without self)


def _render_signature(render):
    key = getattr(render, "__func__", render)
    if key not in _SIGNATURES:
        _SIGNATURES[key] = signature(render)
    return _SIGNATURES[key]


class CellWriter:
    """One column's ``<td>``s, with what does not change from row to row worked out once.

    It gives what ``BoundRow.get_cell`` and the bootstrap5 template's
    ``<td {{ column.attrs.td.as_html }}>{{ cell }}</td>`` give: the value through the accessor (a choice
    field's label), ``default`` for empty values, the table's ``render_<name>`` or the column's ``render``
    called with the arguments it names, then ``linkify``. Anything unusual (not a model record, a callable on
    the path, many-to-many and link columns, computed cell attributes, ``localize``) takes django-tables2's
    own path for that cell.
    """

    def __init__(self, bound):
        self.bound = bound
        self.name = bound.name
        column = bound.column
        self.column = column
        self.bits = Accessor(bound.accessor).bits
        self.choice_display = {}  # record class -> whether the last bit is a choice field (get_FOO_display)
        self.slow = isinstance(column, (ManyToManyColumn, BaseLinkColumn)) or not self.bits
        render = bound.render
        self.plain = getattr(render, "__func__", None) is tables.Column.render
        self.date_format = None
        match = _DATE_TEMPLATE.fullmatch(getattr(column, "template_code", None) or "")
        if (match and getattr(render, "__func__", None) is tables.TemplateColumn.render and not column.extra_context
                and type(column).get_context_data is tables.TemplateColumn.get_context_data):
            self.date_format = match.group(1)
        self.render_args, self.render_all = _render_signature(render) if not self.plain else ((), None)
        td = self._static_td_attrs(bound)
        self.td_open = None if td is None else f"<td {td}>"
        self.localized = None
        if column.localize is not None:
            localize = "localize" if column.localize else "unlocalize"
            self.localized = Template("{% load l10n %}{{ cell|" + localize + " }}")

    @staticmethod
    def _static_td_attrs(bound):
        """The ``td`` attributes when no callable computes them per cell, else None."""
        attrs = dict(bound._table.attrs)
        attrs.update(dict(bound.column.attrs))

        def computed(value):
            return callable(value) or (isinstance(value, dict) and any(computed(v) for v in value.values()))

        if computed(attrs.get("td", attrs.get("cell", {}))):
            return None
        return bound.attrs["td"].as_html()

    def td(self, row, context) -> str:
        content = self.content(row, context)
        bound = self.bound
        bound.current_value = content  # as BoundRow.items() leaves them, for attributes computed from the cell
        bound.current_record = row.record
        td_open = self.td_open if self.td_open is not None else f"<td {bound.attrs['td'].as_html()}>"
        if self.localized is not None:
            return f"{td_open}{self.localized.render(Context({'cell': content}))}</td>"
        if type(content) is str:  # the common case, as render_value_in_context would: escaped
            return f"{td_open}{html_escape(content)}</td>"
        if type(content) is SafeString:
            return f"{td_open}{content}</td>"
        return f"{td_open}{render_value_in_context(content, context)}</td>"

    def value(self, record):
        """The cell's value as ``BoundRow._get_and_render_with`` reads it, or _SLOW."""
        if not isinstance(record, models.Model):
            return _SLOW
        target = record
        try:
            for bit in self.bits[:-1]:
                target = getattr(target, bit)
                if target is None:
                    return None
                if callable(target) or not isinstance(target, models.Model):
                    return _SLOW
            last = self.bits[-1]
            display = self.choice_display.get(type(record))
            if display is None:
                field = Accessor("__".join(self.bits)).get_field(record)
                display = self.choice_display[type(record)] = bool(getattr(field, "choices", ()))
            if display and hasattr(target, f"get_{last}_display"):
                return getattr(target, f"get_{last}_display")()
            value = getattr(target, last)
        except Exception:  # noqa: BLE001  (django-tables2's path decides what a failing lookup shows)
            return _SLOW
        return _SLOW if callable(value) else value

    def content(self, row, context):
        if self.slow:
            return row.get_cell(self.name)
        record = row.record
        value = self.value(record)
        if value is _SLOW:
            return row.get_cell(self.name)
        bound = self.bound
        if value in self.column.empty_values:
            return bound.default
        if self.date_format is not None:
            # {{ value|date:"..."|default:default }}, rendered (so escaped) as the column's template would
            content = render_value_in_context(
                date_filter(template_localtime(value), self.date_format) or bound.default, context)
        elif self.plain:
            content = value
        else:
            content = self._call_render(row, value)
        if bound.link:
            content = bound.link(content, **self._render_kwargs(row, value))
        return content

    def _render_kwargs(self, row, value):
        return {"value": value, "record": row.record, "column": self.column, "bound_column": self.bound,
                "bound_row": row, "table": self.bound._table}

    def _call_render(self, row, value):
        kwargs = self._render_kwargs(row, value)
        if self.render_all:
            return self.bound.render(**kwargs)
        if not _RENDER_KWARGS.issuperset(self.render_args):
            return None  # as call_with_appropriate: an argument it cannot be given
        return self.bound.render(**{name: kwargs[name] for name in self.render_args})


SECRET_MASK = "••••••"


def secret_flag(name: str) -> str:
    """The annotation that marks a row's ``name`` as withheld."""
    return f"secret_{name}"


class SecretColumn(tables.Column):
    """A secret (design §9): shown and downloaded only to admins. ``secret`` picks the rows whose value is one
    (None: every row). For other members ``GridView.hide_secrets`` marks those rows, so the page masks them
    and the download leaves them empty."""

    def __init__(self, *args, secret: Q | None = None, **kwargs):
        self.secret = secret
        super().__init__(*args, **kwargs)

    def render(self, value, record, bound_column):
        return SECRET_MASK if getattr(record, secret_flag(bound_column.name), False) else value


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
