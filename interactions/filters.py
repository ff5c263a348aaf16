import django_filters
from django import forms

from campaigns.models import Campaign, Integration
from campaigns.status import CampaignStatus
from grids.filters import DATE_RANGE, SearchFilter, scoped

from .models import Interaction


class InteractionFilterSet(django_filters.FilterSet):
    redeemer = SearchFilter("redeemer_mobile", "redeemer_email__iexact", "redeemer_external_id",
                            label="Redeemer mobile, email or ID")
    campaign = django_filters.ModelChoiceFilter(queryset=scoped(Campaign, only=("name",)))
    # distinct=False: these lookups cannot repeat a row (no many-valued relation), and a DISTINCT over every column
    # made PostgreSQL de-duplicate all the matching rows before it could take a page of them.
    campaign_status = django_filters.MultipleChoiceFilter(
        field_name="campaign__status", choices=CampaignStatus.choices, label="Campaign status",
        widget=forms.SelectMultiple(attrs={"size": 4}), distinct=False,
    )
    kind = django_filters.MultipleChoiceFilter(choices=Interaction.Kind.choices, distinct=False,
                                               widget=forms.SelectMultiple(attrs={"size": 4}))
    outcome = django_filters.MultipleChoiceFilter(choices=Interaction.Outcome.choices, distinct=False,
                                                  widget=forms.SelectMultiple(attrs={"size": 4}))
    error_code = django_filters.CharFilter(label="Error code")
    integration = django_filters.ModelChoiceFilter(queryset=scoped(Integration, only=("name", "status")))
    created_at = django_filters.DateFromToRangeFilter(label="Between", widget=DATE_RANGE)

    class Meta:
        model = Interaction
        fields = ["redeemer", "campaign", "campaign_status", "kind", "outcome", "error_code", "integration",
                  "created_at"]
