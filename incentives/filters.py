import django_filters

from grids.filters import SearchFilter, YesNoFilter, scoped

from .models import IncentivePool, Vault, Voucher


class VaultFilterSet(django_filters.FilterSet):
    q = SearchFilter("name__icontains", "description__icontains", label="Name or description")

    class Meta:
        model = Vault
        fields = ["q"]


class VoucherFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(lookup_expr="exact", label="Code")
    vault = django_filters.ModelChoiceFilter(queryset=scoped(Vault))
    vendor = django_filters.CharFilter(lookup_expr="iexact")
    amount = django_filters.NumberFilter()
    currency = django_filters.CharFilter(lookup_expr="iexact")
    status = django_filters.ChoiceFilter(choices=Voucher.Status.choices)
    is_test = YesNoFilter(label="Test voucher")

    class Meta:
        model = Voucher
        fields = ["code", "vault", "vendor", "amount", "currency", "status", "is_test"]


class PoolFilterSet(django_filters.FilterSet):
    q = SearchFilter("name__icontains", label="Name")
    distribution = django_filters.ChoiceFilter(choices=IncentivePool.Distribution.choices)

    class Meta:
        model = IncentivePool
        fields = ["q", "distribution"]
