import django_filters

from campaigns.models import Campaign
from grids.filters import SearchFilter, YesNoAnyWidget, scoped

from .models import TrackingNumber
from .voice import ROUTING_LABELS


class TrackingNumberFilterSet(django_filters.FilterSet):
    q = SearchFilter("number__contains", "label__icontains", "forward_to__contains", label="Number or label")
    campaign = django_filters.ModelChoiceFilter(queryset=scoped(Campaign))
    unassigned = django_filters.BooleanFilter(field_name="campaign", lookup_expr="isnull", label="In the inventory",
                                              widget=YesNoAnyWidget)
    state = django_filters.ChoiceFilter(choices=[(r.value, label) for r, label in ROUTING_LABELS.items()])

    class Meta:
        model = TrackingNumber
        fields = ["q", "campaign", "unassigned", "state"]
