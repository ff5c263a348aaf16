import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html

from grids.tables import SECRET_MASK, GridTable, SecretColumn, StatusColumn

from .models import Interaction


def shown_from(breakpoint: str) -> dict:
    """Column attrs hiding a column (its th and its tds) on screens narrower than ``breakpoint``: a Bootstrap
    one, or ``wide`` (app.css)."""
    css = f"d-none d-{breakpoint}-table-cell"
    return {"th": {"class": css}, "td": {"class": css}}


def truncated(value, css: str = "cell-truncate"):
    """One line, cut with an ellipsis; the whole value shows on hover."""
    return format_html('<span class="{}" title="{}">{}</span>', css, value, value)


class TruncatedColumn(tables.Column):
    def __init__(self, *args, narrow: bool = False, **kwargs):
        self.css = "cell-truncate cell-truncate-narrow" if narrow else "cell-truncate"
        super().__init__(*args, **kwargs)

    def render(self, value):
        return truncated(value, self.css)


class SecretTruncatedColumn(SecretColumn):
    """A secret (design §9) that, when shown, is truncated like the row's other long values."""

    def render(self, value, record, bound_column):
        shown = super().render(value, record, bound_column)
        return shown if shown == SECRET_MASK else truncated(value, "cell-truncate cell-truncate-narrow")


class InteractionTable(GridTable):
    """A row reads on one line on a laptop screen (1400 px): long values are truncated, and the columns that
    matter least give way first on narrower screens, the technical ones showing only on wide screens."""

    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    campaign = tables.Column(accessor="campaign__name", verbose_name="Campaign")
    integration = TruncatedColumn(accessor="integration__name", verbose_name="Integration", narrow=True,
                                  attrs=shown_from("wide"))
    kind = tables.Column(attrs=shown_from("lg"))
    outcome = StatusColumn()
    error_code = TruncatedColumn(narrow=True, attrs=shown_from("xl"))
    http_status = tables.Column(attrs=shown_from("wide"))
    redeemer_mobile = tables.Column(attrs=shown_from("xxl"))
    redeemer_email = TruncatedColumn()
    redeemer_external_id = TruncatedColumn(narrow=True, attrs=shown_from("xxl"))
    voucher = SecretTruncatedColumn(accessor="voucher__code", verbose_name="Voucher", attrs=shown_from("lg"))
    latency_ms = tables.Column(attrs=shown_from("wide"))
    request_id = TruncatedColumn(narrow=True, attrs=shown_from("wide"))
    message = TruncatedColumn(attrs=shown_from("wide"))

    class Meta(GridTable.Meta):
        model = Interaction
        attrs = {"class": f"{GridTable.Meta.attrs['class']} table-one-line"}
        fields = ("created_at", "campaign", "integration", "kind", "outcome", "error_code", "http_status",
                  "redeemer_mobile", "redeemer_email", "redeemer_external_id", "voucher", "latency_ms",
                  "request_id", "message")
        order_by = ("-created_at",)

    def render_campaign(self, value, record):
        """The campaign's name, linked: one URL per campaign on the page (a page holds few campaigns)."""
        urls = self.__dict__.setdefault("_campaign_urls", {})
        if record.campaign_id not in urls:
            urls[record.campaign_id] = reverse("campaigns:detail", args=[record.campaign_id])
        return format_html('<a class="cell-truncate" href="{}" title="{}">{}</a>', urls[record.campaign_id], value,
                           value)
