from django.db.models import Count, Q
from django.utils import timezone
from django.views.generic import DetailView, ListView

from accounts.permissions import MemberRequiredMixin, can_manage_campaign

from .models import Campaign, Integration
from .status import STATUS_DEFINITIONS, CampaignStatus, live_checklist


class CampaignListView(MemberRequiredMixin, ListView):
    template_name = "campaigns/campaign_list.html"
    paginate_by = 50

    def get_queryset(self):
        return Campaign.objects.exclude(status=CampaignStatus.ARCHIVED).select_related("owner")

    def get_context_data(self, **kwargs):
        return super().get_context_data(status_definitions=STATUS_DEFINITIONS, **kwargs)


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


class IntegrationListView(MemberRequiredMixin, ListView):
    template_name = "campaigns/integration_list.html"
    paginate_by = 50

    def get_queryset(self):
        return Integration.objects.select_related("campaign")


class IntegrationDetailView(MemberRequiredMixin, DetailView):
    template_name = "campaigns/integration_detail.html"

    def get_queryset(self):
        return Integration.objects.select_related("campaign")
