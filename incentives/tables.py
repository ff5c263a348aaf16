import django_tables2 as tables
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from grids.tables import GridTable, SecretColumn, StatusColumn, YesNoColumn

from .models import IncentiveCode, IncentivePool, Issuance, Redemption, Vault, Voucher


class VaultTable(GridTable):
    name = tables.Column(linkify=True)
    available = tables.Column(verbose_name="Available vouchers", orderable=True)
    total = tables.Column(verbose_name="All vouchers", orderable=True)

    class Meta(GridTable.Meta):
        model = Vault
        fields = ("name", "description", "available", "total", "created_at")


class VoucherTable(GridTable):
    code = SecretColumn()  # the PIN is never shown nor downloaded
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

    def render_remaining(self, value, record):
        """The count, and a bar of the share of codes remaining (red at or below the low threshold)."""
        share = round(100 * value / record.total) if record.total else 0
        low = value <= record.low_threshold
        return format_html(
            '<div class="d-flex align-items-center gap-2"><span class="text-end" style="min-width: 4rem">{}</span>'
            '<div class="progress flex-grow-1" style="min-width: 6rem; height: .6rem" role="progressbar" '
            'aria-label="{}% remaining" aria-valuenow="{}" aria-valuemin="0" aria-valuemax="100">'
            '<div class="progress-bar {}" style="width: {}%"></div></div>{}</div>',
            value, share, share, "bg-danger" if low else "bg-success", share,
            mark_safe(' <span class="badge text-bg-danger">low</span>') if low and record.total else "",
        )


def _pool_link(record) -> str:
    return reverse("incentives:pool-detail", args=[record.pool_id])


class CodeTable(GridTable):
    code = SecretColumn(secret=IncentiveCode.SECRET)
    pool = tables.Column(accessor="pool__name", verbose_name="Pool", linkify=_pool_link)
    active = YesNoColumn()
    issued_count = tables.Column(verbose_name="Issued")
    issued_unique = tables.Column(verbose_name="Issued (unique)")
    redeemed_count = tables.Column(verbose_name="Redeemed")
    redeemed_unique = tables.Column(verbose_name="Redeemed (unique)")

    class Meta(GridTable.Meta):
        model = IncentiveCode
        fields = ("code", "pool", "active", "issued_count", "issued_unique", "redeemed_count", "redeemed_unique",
                  "created_at", "updated_at")


class CodeEventTable(GridTable):
    """Issuances and redemptions: the code, its pool, the issuee and the application that asked."""

    created_at = tables.DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    code = tables.Column(accessor="code__code", verbose_name="Code")
    pool = tables.Column(accessor="pool__name", verbose_name="Pool", linkify=_pool_link)
    issuee_id = tables.Column(verbose_name="Issuee ID")

    class Meta(GridTable.Meta):
        fields = ("created_at", "code", "pool", "external_issuee_id", "issuee_id", "referring_application",
                  "referring_application_ref_id")
        order_by = ("-created_at",)


class IssuanceTable(CodeEventTable):
    class Meta(CodeEventTable.Meta):
        model = Issuance


class RedemptionTable(CodeEventTable):
    class Meta(CodeEventTable.Meta):
        model = Redemption
