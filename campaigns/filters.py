import django_filters
from django import forms

from accounts.permissions import members_of
from grids.filters import SearchFilter, YesNoFilter, scoped

from .models import Campaign, Integration
from .status import CampaignStatus


class CampaignFilterSet(django_filters.FilterSet):
    q = SearchFilter("name__icontains", "external_id__iexact", label="Name or external ID")
    status = django_filters.MultipleChoiceFilter(
        choices=CampaignStatus.choices, widget=forms.SelectMultiple(attrs={"size": 4}),
        help_text="Archived campaigns show only when chosen here.", distinct=False,  # a campaign's own field
    )
    active_now = YesNoFilter(label="Active")
    owner = django_filters.ModelChoiceFilter(queryset=lambda request: members_of(request.organization))
    end_behavior = django_filters.ChoiceFilter(choices=Campaign.EndBehavior.choices)
    starts_at = django_filters.DateFromToRangeFilter(
        label="Starts between", widget=django_filters.widgets.DateRangeWidget(attrs={"type": "date"})
    )

    class Meta:
        model = Campaign
        fields = ["q", "status", "active_now", "owner", "end_behavior", "starts_at"]

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=CampaignStatus.ARCHIVED)  # archived only when asked for
        return queryset


class IntegrationFilterSet(django_filters.FilterSet):
    q = SearchFilter("name__icontains", "key_prefix__startswith", label="Name or key prefix")
    campaign = django_filters.ModelChoiceFilter(queryset=scoped(Campaign))
    status = django_filters.ChoiceFilter(choices=Integration.Status.choices)

    class Meta:
        model = Integration
        fields = ["q", "campaign", "status"]
