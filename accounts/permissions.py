"""Who may do what (design §2): admins manage everything in their organization; standard users manage
only the campaigns they own. Views ask these; they never compare roles themselves."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied

from .models import Membership


def can_manage_campaign(membership: Membership | None, campaign) -> bool:
    if membership is None or campaign.organization_id != membership.organization_id:
        return False
    return membership.is_admin or campaign.owner_id == membership.user_id


def is_org_admin(membership: Membership | None) -> bool:
    return membership is not None and membership.is_admin


class MemberRequiredMixin(LoginRequiredMixin):
    """The base of every page: logged in, and a member of the current organization."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and request.membership is None:
            raise PermissionDenied("You are not a member of any organization.")
        return super().dispatch(request, *args, **kwargs)


class AdminRequiredMixin(MemberRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not is_org_admin(request.membership):
            raise PermissionDenied("Only organization admins can do this.")
        return super().dispatch(request, *args, **kwargs)


def members_of(organization):
    """The users of an organization: choices for owner fields and filters."""
    from .models import User

    return User.objects.filter(memberships__organization=organization).order_by("username")
