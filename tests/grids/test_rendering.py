"""The grid draws its tables and filter widgets in Python (GridTable.header_html / rows_html, GridFormRenderer):
the HTML must be what django-tables2's bootstrap5 template and Django's widget templates write. Checked against
them, so an upgrade of either that changes their HTML shows here."""

import itertools
import re
from importlib import import_module
from pathlib import Path

import django_filters
import django_tables2 as tables
import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.forms.renderers import DjangoTemplates
from django.http import QueryDict
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver
from django.utils.html import format_html
from django.utils.module_loading import module_has_submodule
from django.utils.safestring import mark_safe

from campaigns.models import Campaign
from campaigns.services.statuses import with_active_now
from campaigns.tables import CampaignTable, IntegrationTable
from campaigns.views import CampaignListView, IntegrationListView
from engagement.tables import CustomerTable, ParticipationTable
from engagement.views.campaigns import ParticipationListView
from engagement.views.customers import CustomerListView
from grids.filters import YesNoAnyWidget
from grids.tables import GridTable, SelectColumn
from grids.views import GridView, style_filter_form
from grids.widgets import GRID_FORM_RENDERER
from incentives.filters import CodeEventFilterSet, IssuanceFilterSet
from incentives.tables import (
    CodeEventTable,
    CodeTable,
    IssuanceTable,
    PoolTable,
    RedemptionTable,
    VaultTable,
    VoucherTable,
)
from incentives.views import (
    CodeListView,
    IssuanceListView,
    PoolListView,
    RedemptionListView,
    VaultListView,
    VoucherListView,
)
from interactions.models import Interaction
from interactions.tables import InteractionTable
from interactions.views import InteractionListView
from reporting.filters import CampaignReportFilterSet
from reporting.periods import parse_period
from reporting.services import organization_overview
from reporting.tables import CampaignReportTable, campaign_rows
from tracking.tables import TrackingNumberTable
from tracking.views import TrackingNumberListView

WIDGETS = [
    (forms.TextInput(attrs={"class": "x", "data-q": 'a"<b>'}), "v<&>"),
    (forms.TextInput(), None),
    (forms.TextInput(), 0),
    (forms.NumberInput(attrs={"min": 0, "step": 1.5}), 12),
    (forms.EmailInput(attrs={"required": True, "disabled": False}), "a@b.c"),
    (forms.DateInput(attrs={"type": "date"}), None),
    (forms.HiddenInput(), mark_safe("<b>safe</b>")),
    (forms.Select(choices=[("", "---"), ("a", "A&"), ("G<", [("b", "B"), (3, 4)])]), "b"),
    (forms.Select(choices=[(1, "one"), (2, mark_safe("<i>two</i>"))]), 2),
    (forms.SelectMultiple(choices=[("a", "A"), ("b", "B")], attrs={"size": 4}), ["b", "a"]),
    (forms.SelectMultiple(choices=[]), None),
    (YesNoAnyWidget(attrs={"class": "form-select"}), "true"),
    (django_filters.widgets.DateRangeWidget(attrs={"type": "date"}), ["2020-01-01", None]),
    (django_filters.widgets.RangeWidget(attrs={"class": "c"}), [1, 2]),
    (forms.Textarea(), "left to Django's templates"),
    (forms.CheckboxSelectMultiple(choices=[("a", "A")]), ["a"]),
]


@pytest.mark.parametrize(("widget", "value"), WIDGETS, ids=lambda case: type(case).__name__)
def test_filter_widgets_are_drawn_as_djangos_templates_draw_them(widget, value):
    attrs = {"id": "id_f"}
    assert (widget.render("f", value, attrs=attrs, renderer=GRID_FORM_RENDERER)
            == widget.render("f", value, attrs=attrs, renderer=DjangoTemplates()))


class OddTable(GridTable):
    """Columns off the fast path or at its edges: computed attributes, localize, render_<name> taking unusual
    arguments, a template column, linkify by view name, empty values, a method on the accessor path, a missing
    path, row attributes, pinned rows, a footer."""

    created_at = tables.DateTimeColumn(attrs={"td": {"data-pk": lambda record: getattr(record, "pk", "-")}},
                                       footer="F<oot>")
    kind = tables.Column(localize=True)
    outcome = tables.Column(localize=False, attrs={"td": {"class": "o"}})
    message = tables.TemplateColumn("<b>{{ record.pk }}</b>{{ value }}")
    campaign = tables.Column(linkify=("campaigns:detail", [tables.A("campaign__pk")]), accessor="campaign__name")
    status = tables.Column(accessor="campaign__status", attrs={"cell": {"data-v": lambda value: value}})
    http_status = tables.Column(empty_values=(201,), default="none", verbose_name="HTTP <status>")
    latency_ms = tables.Column()
    url = tables.Column(accessor="campaign__get_absolute_url", orderable=False)
    missing = tables.Column(accessor="nothing__here", default="(missing)")
    test = tables.BooleanColumn(accessor="voucher__is_test")
    redeemer_email = tables.Column()

    class Meta(GridTable.Meta):
        model = Interaction
        fields = ("created_at", "kind", "outcome", "message", "campaign", "status", "http_status", "latency_ms",
                  "url", "missing", "test", "redeemer_email")
        row_attrs = {"data-id": lambda record: getattr(record, "pk", "-")}

    def get_top_pinned_data(self):
        return [{"kind": "pinned", "http_status": 1234567}]

    def render_latency_ms(self, value, bound_row):
        return f"{value} ms, row {bound_row.row_counter}"

    def render_redeemer_email(self, value, record, table, **kwargs):
        return format_html("<i>{}</i> {}", value, kwargs["bound_column"].name)


def normalized(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
    return re.sub(r"\s*(<|>)\s*", r"\1", re.sub(r"\s+", " ", html))


TABLES = {
    "interactions": lambda request: InteractionTable(Interaction.objects.select_related("campaign", "integration",
                                                                                       "voucher"), request=request),
    "interactions with a select column": lambda request: InteractionTable(
        Interaction.objects.all(), request=request, extra_columns=[("select", SelectColumn())],
        sequence=("select", "...")),
    "odd columns": lambda request: OddTable(Interaction.objects.order_by("pk"), request=request),
    "dict rows": lambda request: InteractionTable(list(Interaction.objects.values("created_at", "kind", "outcome")),
                                                  request=request),
    "empty": lambda request: InteractionTable(Interaction.objects.none(), request=request),
}


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("query", ["", "?page=2&sort=-kind&q=a%20b"])
def test_grid_tables_are_written_as_django_tables2s_bootstrap5_template_writes_them(
        grid_rows, in_scope, admin_user, name, query):
    pages = []
    for template in ("django_tables2/bootstrap5.html", "grids/table.html"):
        request = RequestFactory().get(f"/grid/{query}")
        request.user, request.membership = admin_user, admin_user.memberships.get()
        table = TABLES[name](request)
        table.paginate(page=1, per_page=10)
        node = Template('{% load django_tables2 %}{% render_table table "' + template + '" %}')
        pages.append(normalized(node.render(RequestContext(request, {"table": table}))))
    assert pages[0] == pages[1]
    assert "<th" in pages[1] and ("<td" in pages[1] or name == "empty")


# --- every grid table and filter widget of the project, found rather than listed -------------------------------


def _project_classes(module_name: str, base: type) -> set[type]:
    """Every subclass of ``base`` in the installed project apps, after importing each app's ``module_name``."""
    project = {app.name for app in apps.get_app_configs() if Path(app.path).is_relative_to(settings.BASE_DIR)}
    for app in project:
        if module_has_submodule(import_module(app), module_name):
            import_module(f"{app}.{module_name}")
    found, todo = set(), [base]
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.split(".")[0] in project:
                found.add(cls)
    return found


def _grid_views(patterns=None) -> set[type[GridView]]:
    views = set()
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            views |= _grid_views(pattern.url_patterns)
        elif isinstance(getattr(pattern.callback, "view_class", None), type) and issubclass(
                pattern.callback.view_class, GridView):
            views.add(pattern.callback.view_class)
    return views


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


GRID_VIEWS = sorted(_grid_views(), key=_name)


def _drawn(found: set[type], used: set[type]) -> list[type]:
    """The classes a page can draw: each used by a grid view, or not a base of others (a base such as
    CodeEventTable names its subclasses' fields and is drawn only as them)."""
    found = found | used
    bases = {base for cls in found for base in cls.__mro__[1:]}
    return sorted({cls for cls in found if cls in used or cls not in bases}, key=_name)


GRID_TABLES = _drawn(_project_classes("tables", GridTable), {view.table_class for view in GRID_VIEWS})
FILTERSETS = _drawn(_project_classes("filters", django_filters.FilterSet),
                    {view.filterset_class for view in GRID_VIEWS})


def view_rows(view_class, **kwargs):
    """The rows the grid page shows: its view's queryset, in a total order (``kwargs``: the URL's, as callables
    of nothing, run once the rows exist)."""

    def rows(request):
        view = view_class()
        view.setup(request, **{name: value() for name, value in kwargs.items()})
        queryset = view.get_queryset()
        return queryset.order_by(*(queryset.query.order_by or queryset.model._meta.ordering), "pk")

    return rows


def report_rows(request):
    period = parse_period(None, request.organization.zone)
    campaigns = with_active_now(Campaign.objects.order_by("name"))
    return campaign_rows(campaigns, organization_overview(request.organization, period), "period=30d")


# Every grid table's rows (tests/grids/conftest.py's grid_rows makes them): a table missing here fails.
TABLE_ROWS = {
    CampaignTable: view_rows(CampaignListView),
    IntegrationTable: view_rows(IntegrationListView),
    VaultTable: view_rows(VaultListView),
    VoucherTable: view_rows(VoucherListView),
    PoolTable: view_rows(PoolListView),
    CodeTable: view_rows(CodeListView),
    IssuanceTable: view_rows(IssuanceListView),
    RedemptionTable: view_rows(RedemptionListView),
    InteractionTable: view_rows(InteractionListView),
    TrackingNumberTable: view_rows(TrackingNumberListView),
    CampaignReportTable: report_rows,
    CustomerTable: view_rows(CustomerListView),
    ParticipationTable: view_rows(ParticipationListView,
                                  pk=lambda: Campaign.objects.get(name="Spring <sale> & more").pk),
}


def test_the_discovery_finds_the_grids():
    assert len(GRID_VIEWS) >= 10 and InteractionListView in GRID_VIEWS
    assert CampaignReportTable in GRID_TABLES and IssuanceTable in GRID_TABLES
    assert CodeEventTable not in GRID_TABLES and OddTable not in GRID_TABLES
    assert CampaignReportFilterSet in FILTERSETS and IssuanceFilterSet in FILTERSETS
    assert CodeEventFilterSet not in FILTERSETS


def test_every_grid_table_has_rows_to_compare():
    missing = [_name(table) for table in GRID_TABLES if table not in TABLE_ROWS]
    assert not missing, f"add rows for {missing} to TABLE_ROWS (and tests/grids/conftest.py)"


def grid_request(user, query=""):
    request = RequestFactory().get(f"/grid/{query}")
    request.user, request.membership = user, user.memberships.select_related("organization").get()
    request.organization = request.membership.organization
    return request


def make_table(table_class, request, select: bool):
    rows = TABLE_ROWS[table_class](request)
    if select:  # as a grid with bulk actions adds it
        return table_class(rows, request=request, extra_columns=[("select", SelectColumn())],
                           sequence=("select", "..."))
    return table_class(rows, request=request)


@pytest.mark.parametrize("table_class", GRID_TABLES, ids=_name)
def test_every_column_of_every_grid_table_has_a_value_in_its_rows(grid_rows, in_scope, admin_user, table_class):
    if table_class not in TABLE_ROWS:
        pytest.fail(f"no rows for {_name(table_class)} in TABLE_ROWS")
    table = make_table(table_class, grid_request(admin_user), select=False)
    rows = list(table.rows)
    assert len(rows) >= 2
    shown = {column.name for column in table.columns for row in rows if row.get_cell(column.name) != column.default}
    assert shown == {column.name for column in table.columns}


@pytest.mark.parametrize("table_class", GRID_TABLES, ids=_name)
def test_every_grid_table_is_written_as_django_tables2s_bootstrap5_template_writes_it(
        grid_rows, in_scope, admin_user, standard_user, table_class):
    if table_class not in TABLE_ROWS:
        pytest.fail(f"no rows for {_name(table_class)} in TABLE_ROWS")
    columns = make_table(table_class, grid_request(admin_user), select=False).columns
    sort = next(column.name for column in columns if column.orderable)
    # one set of rows for every case: the rows cost more than the renders
    for user, select, query in itertools.product((admin_user, standard_user), (False, True),
                                                 ("", f"?page=2&sort=-{sort}&q=a%20b")):
        page, pages = 1, 1
        while page <= pages:
            html = []
            for template in ("django_tables2/bootstrap5.html", "grids/table.html"):
                request = grid_request(user, query)
                table = make_table(table_class, request, select=select)
                table.paginate(page=page, per_page=3)
                pages = table.paginator.num_pages
                node = Template('{% load django_tables2 %}{% render_table table "' + template + '" %}')
                html.append(normalized(node.render(RequestContext(request, {"table": table}))))
            assert html[0] == html[1], f"{user.username}, select column: {select}, {query!r}, page {page}"
            assert "<td" in html[1]
            page += 1


def _widget_values(form) -> dict[str, QueryDict]:
    """Query strings that give each of the form's widgets no value, a value, other values (several for a
    multiple select) and values no choice or type accepts."""
    datasets = {name: QueryDict(mutable=True) for name in ("empty", "a value", "other values", "unaccepted")}
    for name, field in form.fields.items():
        widget, key = field.widget, form.add_prefix(name)
        if isinstance(widget, forms.MultiWidget):
            keys = [key + suffix for suffix in widget.widgets_names]
            sample = "2026-03-01" if isinstance(field, django_filters.fields.DateRangeField) else "7"
            values = {"a value": [sample, ""], "other values": ["", sample], "unaccepted": ['x"<y>', "&"]}
            for dataset, pair in values.items():
                for sub_key, value in zip(keys, pair, strict=True):
                    datasets[dataset].setlist(sub_key, [value])
            continue
        if isinstance(widget, forms.Select):
            choices = [str(value) for value, _label in widget.choices if str(value) != ""]
            assert choices, f"{name}: no choices to pick (add rows to grid_rows)"
            multiple = isinstance(widget, forms.SelectMultiple)
            values = {"a value": choices[:1], "other values": [*choices[1:], choices[0]] if multiple else choices[-1:]}
        else:
            values = {"a value": ['a"<b> & c' if not isinstance(widget, forms.NumberInput) else "12.5"],
                      "other values": ["0"]}
        values["unaccepted"] = ['x"<y>', "&"] if isinstance(widget, forms.SelectMultiple) else ['x"<y>']
        for dataset, value in values.items():
            datasets[dataset].setlist(key, value)
    return datasets


def _filterset(filterset_class, data, request):
    return filterset_class(data, queryset=filterset_class._meta.model.objects.none(), request=request)


@pytest.mark.parametrize("filterset_class", FILTERSETS, ids=_name)
def test_every_filter_widget_is_drawn_as_djangos_templates_draw_it(grid_rows, in_scope, admin_user, filterset_class):
    request = grid_request(admin_user)
    datasets = _widget_values(_filterset(filterset_class, None, request).form)
    for dataset, data in datasets.items():
        fast = _filterset(filterset_class, data, request).form
        style_filter_form(fast)  # as the grid draws it: its renderer, its classes, its choice lists
        assert fast.renderer is GRID_FORM_RENDERER
        stock = _filterset(filterset_class, data, request).form
        stock.renderer = DjangoTemplates()
        for name, field in fast.fields.items():
            widget = stock.fields[name].widget
            for ours, theirs in zip(getattr(field.widget, "widgets", [field.widget]),
                                    getattr(widget, "widgets", [widget]), strict=True):
                theirs.attrs = dict(ours.attrs)
            assert str(fast[name]) == str(stock[name]), f"{name}, {dataset}: {data.urlencode()}"
