import django_tables2 as tables

from grids.tables import GridTable, StatusColumn, YesNoColumn

from .models import Vault, Voucher


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
    actions = tables.TemplateColumn(template_name="incentives/voucher_actions.html", verbose_name="",
                                    orderable=False, exclude_from_export=True)

    class Meta(GridTable.Meta):
        model = Voucher
        fields = ("code", "vendor", "amount", "currency", "is_test", "status", "vault", "expires_at", "awarded_at")
