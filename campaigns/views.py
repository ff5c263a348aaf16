from django.db.models import Count, Q
from django.utils import timezone
from django.views.generic import DetailView

from accounts.permissions import MemberRequiredMixin, can_manage_campaign
from grids.views import GridView

from .filters import CampaignFilterSet, IntegrationFilterSet
from .models import Campaign, Integration
from .status import STATUS_DEFINITIONS, CampaignStatus, live_checklist
from .tables import CampaignTable, IntegrationTable


class CampaignListView(GridView):
    model = Campaign
    table_class = CampaignTable
    filterset_class = CampaignFilterSet
    definitions = {CampaignStatus(status).label: text for status, text in STATUS_DEFINITIONS.items()} | {
        "Active": "YES while now is within the campaign's start and end dates, whatever its status.",
    }
    empty_text = "No campaigns yet."

    def get_queryset(self):
        return Campaign.objects.with_active_now().select_related("owner")


class CampaignDetailView(MemberRequiredMixin, DetailView):
    template_name = "campaigns/campaign_detail.html"

    def get_queryset(self):
        return Campaign.objects.select_related("owner", "organization")

    def get_context_data(self, **kwargs):
        campaign = self.object
        integrations = list(campaign.integrations.all())
        vaults = list(
            campaign.vaults.annotate(
                available=Count("vouchers", filter=Q(vouchers__status="available")),
            )
        )
        return super().get_context_data(
            integrations=integrations,
            vaults=vaults,
            status_changes=campaign.status_changes.all()[:20],
            checklist=live_checklist(
                starts_at=campaign.starts_at,
                ends_at=campaign.ends_at,
                has_vault=bool(vaults),
                has_live_integration=any(i.status == Integration.Status.LIVE for i in integrations),
                now=timezone.now(),
            ),
            can_manage=can_manage_campaign(self.request.membership, campaign),
            **kwargs,
        )


class IntegrationListView(GridView):
    model = Integration
    table_class = IntegrationTable
    filterset_class = IntegrationFilterSet
    empty_text = "No integrations yet: create one from a campaign's page."

    def get_queryset(self):
        return Integration.objects.select_related("campaign")


class IntegrationDetailView(MemberRequiredMixin, DetailView):
    template_name = "campaigns/integration_detail.html"

    def get_queryset(self):
        return Integration.objects.select_related("campaign")
