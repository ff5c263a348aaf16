import django_filters
from django import forms
from django.db.models import Exists, OuterRef

from grids.filters import DATE_RANGE, SearchFilter, YesNoFilter

from .models import STATES, Customer, CustomerTag, Participation
from .rules import normalize_tag


class CustomerFilterSet(django_filters.FilterSet):
    q = SearchFilter("external_id__icontains", "email__iexact", "mobile", label="External ID, email or mobile")
    tag = django_filters.CharFilter(method="with_tag", label="Tag")
    created_at = django_filters.DateFromToRangeFilter(label="Created between", widget=DATE_RANGE)

    class Meta:
        model = Customer
        fields = ["q", "tag", "created_at"]

    def with_tag(self, queryset, name, value):
        tag = normalize_tag(value)
        if not tag:
            return queryset
        # EXISTS, not a join: a customer is one row whatever its tags
        return queryset.filter(Exists(CustomerTag._base_manager.filter(customer_id=OuterRef("pk"), tag=tag)))


class ParticipationFilterSet(django_filters.FilterSet):
    customer = SearchFilter("customer__external_id__icontains", "customer__email__iexact", "customer__mobile",
                            label="Customer ID, email or mobile")
    state = django_filters.MultipleChoiceFilter(choices=STATES, distinct=False,
                                                widget=forms.SelectMultiple(attrs={"size": 4}))
    instance_state = django_filters.MultipleChoiceFilter(choices=STATES, distinct=False, label="Instance",
                                                         widget=forms.SelectMultiple(attrs={"size": 4}))
    opted_in = YesNoFilter(label="Opted in")
    progressed = YesNoFilter(method="with_progress", label="Has counted events")
    is_test = YesNoFilter(label="Test")

    class Meta:
        model = Participation
        fields = ["customer", "state", "instance_state", "opted_in", "progressed", "is_test"]

    def with_progress(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(counted_events__gt=0) if value else queryset.filter(counted_events=0)
