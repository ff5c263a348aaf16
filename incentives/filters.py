import uuid

import django_filters

from grids.filters import DATE_RANGE, SearchFilter, YesNoAnyWidget, YesNoFilter, scoped

from .models import IncentiveCode, IncentivePool, Issuance, Redemption, Vault, Voucher


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


class CodeFilterSet(django_filters.FilterSet):
    code = django_filters.CharFilter(lookup_expr="istartswith", label="Code starts with")
    pool = django_filters.ModelChoiceFilter(queryset=scoped(IncentivePool))
    active = YesNoFilter(label="Active")
    issued = django_filters.BooleanFilter(field_name="issued_count", label="Issued",
                                          method="filter_at_least_once", widget=YesNoAnyWidget)
    redeemed = django_filters.BooleanFilter(field_name="redeemed_count", label="Redeemed",
                                            method="filter_at_least_once", widget=YesNoAnyWidget)

    class Meta:
        model = IncentiveCode
        fields = ["code", "pool", "active", "issued", "redeemed"]

    def filter_at_least_once(self, queryset, name, value):
        """Issued (or redeemed) at least once, or never."""
        return queryset.filter(**{f"{name}__gt": 0}) if value else queryset.filter(**{name: 0})


class CodeEventFilterSet(django_filters.FilterSet):
    issuee = django_filters.CharFilter(method="filter_issuee", label="Issuee (external ID or issuee ID)")
    code = django_filters.CharFilter(field_name="code__code", lookup_expr="iexact", label="Code")
    pool = django_filters.ModelChoiceFilter(queryset=scoped(IncentivePool))
    referring_application = django_filters.CharFilter(lookup_expr="iexact", label="Application")
    created_at = django_filters.DateFromToRangeFilter(label="Between", widget=DATE_RANGE)

    class Meta:
        fields = ["issuee", "code", "pool", "referring_application", "created_at"]

    def filter_issuee(self, queryset, name, value):
        value = value.strip()
        try:
            return queryset.filter(issuee_id=uuid.UUID(value))
        except ValueError:
            return queryset.filter(external_issuee_id=value)


class IssuanceFilterSet(CodeEventFilterSet):
    class Meta(CodeEventFilterSet.Meta):
        model = Issuance


class RedemptionFilterSet(CodeEventFilterSet):
    class Meta(CodeEventFilterSet.Meta):
        model = Redemption
