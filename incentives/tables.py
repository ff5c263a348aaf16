import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html

from grids.tables import GridTable, StatusColumn, YesNoColumn

from .models import IncentivePool, Vault, Voucher


class VaultTable(GridTable):
    name = tables.Column(linkify=True)
    available = tables.Column(verbose_name="Available vouchers", orderable=True)
    total = tables.Column(verbose_name="All vouchers", orderable=True)

    class Meta(GridTable.Meta):
        model = Vault
        fields = ("name", "description", "available", "total", "created_at")


class VoucherTable(GridTable):
    code = tables.Column()
    vault = tables.Column(accessor="vault__name", verbose_name="Vault",
                          linkify=lambda record: record.vault.get_absolute_url())
    status = StatusColumn()
    is_test = YesNoColumn(verbose_name="Test")
    actions = tables.Column(accessor="pk", verbose_name="", orderable=False, exclude_from_export=True)

    class Meta(GridTable.Meta):
        model = Voucher
        fields = ("code", "vendor", "amount", "currency", "is_test", "status", "vault", "expires_at", "awarded_at")

    def render_actions(self, record):
        # Plain HTML rather than a template per row: a rendered template per cell dominated the page's time.
        request = self.request
        if record.status != Voucher.Status.AVAILABLE or not (request.membership and request.membership.is_admin):
            return ""
        return format_html(
            '<form method="post" action="{}" data-confirm="Void voucher {}? It will never be awarded.">'
            '<input type="hidden" name="csrfmiddlewaretoken" value="{}"><input type="hidden" name="next" value="{}">'
            '<button class="btn btn-sm btn-outline-danger py-0">Void</button></form>',
            reverse("incentives:voucher-void", args=[record.pk]), record.code, get_token(request),
            request.get_full_path(),
        )


class PoolTable(GridTable):
    name = tables.Column(linkify=True)
    total = tables.Column(verbose_name="All codes", orderable=True)
    issued = tables.Column(verbose_name="Issued", orderable=True)
    remaining = tables.Column(verbose_name="Remaining", orderable=True)

    class Meta(GridTable.Meta):
        model = IncentivePool
        fields = ("name", "distribution", "total", "issued", "remaining", "low_threshold", "created_at")
