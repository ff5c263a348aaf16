"""Who may change a campaign (design §2), for the views of every app that change one."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from accounts.permissions import MemberRequiredMixin, can_manage_campaign

from .models import Campaign


class ManageCampaignMixin(MemberRequiredMixin):
    """Views that change a campaign: admins, or the campaign's owner (403 for other members)."""

    def get_campaign(self) -> Campaign:
        campaign = get_object_or_404(Campaign.objects.all(), pk=self.kwargs["pk"])
        if not can_manage_campaign(self.request.membership, campaign):
            raise PermissionDenied("Only admins and the campaign's owner can manage it.")
        return campaign
