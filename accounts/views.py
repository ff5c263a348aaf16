from django.http import Http404
from django.shortcuts import redirect
from django.views import View

from .middleware import SESSION_KEY
from .models import Membership
from .permissions import MemberRequiredMixin


class HomeView(MemberRequiredMixin, View):
    def get(self, request):
        return redirect("campaigns:list")


class SwitchOrganizationView(MemberRequiredMixin, View):
    """The breadcrumb's organization switcher: only organizations the user belongs to (else 404)."""

    def post(self, request):
        try:
            membership = Membership.objects.get(user=request.user, organization_id=int(request.POST["organization"]))
        except (KeyError, ValueError, Membership.DoesNotExist) as missing:
            raise Http404("No such organization.") from missing
        request.session[SESSION_KEY] = membership.organization_id
        # Home, not the page the user was on: that page's object belongs to the other organization.
        return redirect("home")
