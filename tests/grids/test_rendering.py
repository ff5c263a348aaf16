"""The grid draws its tables and filter widgets in Python (GridTable.header_html / rows_html, GridFormRenderer):
the HTML must be what django-tables2's bootstrap5 template and Django's widget templates write. Checked against
them, so an upgrade of either that changes their HTML shows here."""

import re

import django_filters
import django_tables2 as tables
import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.template import RequestContext, Template
from django.test import RequestFactory
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from campaigns.models import Campaign
from campaigns.services.integrations import create_integration
from campaigns.tables import CampaignTable
from core.scoping import scopes_disabled
from grids.filters import YesNoAnyWidget
from grids.tables import GridTable, SelectColumn
from grids.widgets import GRID_FORM_RENDERER
from incentives.models import Voucher
from incentives.tables import VoucherTable
from interactions.models import Interaction
from interactions.tables import InteractionTable

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


@pytest.fixture
def interactions(organization, admin_user, make_campaign, make_vault):
    live = make_campaign(organization, admin_user, name="Spring <sale> & more")
    other = make_campaign(organization, admin_user, name="Autumn")
    with scopes_disabled():
        integration = create_integration(live, name="App & co").integration
        voucher = make_vault(organization, vouchers=1).vouchers.get()
        Interaction.objects.bulk_create(
            Interaction(organization=organization, campaign=[live, other, None][n % 3], kind="award",
                        integration=integration if n % 2 else None, voucher=voucher if n % 4 == 0 else None,
                        outcome=["success", "error", "exception", "out_of_stock"][n % 4], error_code="e" * (n % 2),
                        message=f"<script>alert({n})</script> & \"q\"", redeemer_email=f"r{n}@example.com",
                        http_status=[201, 400, 500][n % 3], latency_ms=n)
            for n in range(30)
        )


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
    "campaigns": lambda request: CampaignTable(Campaign.objects.all(), request=request),
    "vouchers": lambda request: VoucherTable(Voucher.objects.select_related("vault"), request=request),
}


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("query", ["", "?page=2&sort=-kind&q=a%20b"])
def test_grid_tables_are_written_as_django_tables2s_bootstrap5_template_writes_them(
        interactions, in_scope, admin_user, name, query):
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
