import django_filters
from django import forms

from campaigns.filters import CampaignFilterSet


class CampaignReportFilterSet(CampaignFilterSet):
    """The campaign grid's filters, carrying the reporting period along (chosen above the grid, kept here)."""

    period = django_filters.CharFilter(method="keep_all", widget=forms.HiddenInput)

    class Meta(CampaignFilterSet.Meta):
        fields = [*CampaignFilterSet.Meta.fields, "period"]

    def keep_all(self, queryset, name, value):
        return queryset  # the period picks the counts, not the campaigns
