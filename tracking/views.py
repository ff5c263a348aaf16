from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import CreateView, DetailView, FormView, UpdateView
from twilio.request_validator import RequestValidator

from accounts.permissions import AdminRequiredMixin, MemberRequiredMixin, can_manage_campaign, is_org_admin
from campaigns.permissions import ManageCampaignMixin
from core.errors import DomainError
from core.forms import show_on_form
from grids.views import GridView

from . import numbers
from .filters import TrackingNumberFilterSet
from .forms import ProvisionNumberForm, TrackingNumberForm
from .models import TrackingNumber
from .phone import pretty
from .tables import TrackingNumberTable
from .voice import number_state

# --- tracking numbers -------------------------------------------------------------------------------

NUMBER_STATE_DEFINITIONS = {
    "Active": "Its campaign is within its start and end dates: calls ring through to the forward-to number.",
    "Referral": "Its referral campaign ended 30 days ago or less: callers hear the business number to call.",
    "Inactive": "Unassigned, not started, or ended: callers hear that the number is not in service.",
}


class TrackingNumberListView(GridView):
    model = TrackingNumber
    table_class = TrackingNumberTable
    filterset_class = TrackingNumberFilterSet
    title = "Tracking numbers"
    create_url = "tracking:number-create"
    definitions = NUMBER_STATE_DEFINITIONS
    empty_text = "No tracking numbers yet."

    def get_queryset(self):
        return numbers.with_state(TrackingNumber.objects.select_related("campaign"))

    def can_create(self):
        return is_org_admin(self.request.membership)


class TrackingNumberDetailView(MemberRequiredMixin, DetailView):
    template_name = "tracking/number_detail.html"
    context_object_name = "number"

    def get_queryset(self):
        return TrackingNumber.objects.select_related("campaign")

    def get_context_data(self, **kwargs):
        number = self.object
        return super().get_context_data(
            state=number_state(number.campaign, timezone.now()),
            is_admin=is_org_admin(self.request.membership),
            can_release=number.campaign is not None and (
                is_org_admin(self.request.membership) or can_manage_campaign(self.request.membership, number.campaign)),
            **kwargs,
        )


class TrackingNumberCreateView(AdminRequiredMixin, CreateView):
    form_class = TrackingNumberForm
    template_name = "tracking/number_form.html"

    def form_valid(self, form):
        form.instance.organization = self.request.organization
        messages.success(self.request, "Number added.")
        return super().form_valid(form)


class TrackingNumberUpdateView(AdminRequiredMixin, UpdateView):
    """Edit, move to another campaign, or put back in the inventory (empty campaign)."""

    form_class = TrackingNumberForm
    template_name = "tracking/number_form.html"

    def get_queryset(self):
        return TrackingNumber.objects.all()


class TrackingNumberReleaseView(MemberRequiredMixin, View):
    def post(self, request, pk):
        number = get_object_or_404(TrackingNumber.objects.select_related("campaign"), pk=pk)
        campaign = number.campaign
        if not (is_org_admin(request.membership) or (campaign and can_manage_campaign(request.membership, campaign))):
            raise PermissionDenied("Only admins and the campaign's owner can release its numbers.")
        numbers.release_number(number)
        messages.success(request, f"{number} is back in the inventory: calls to it are not in service now.")
        return redirect(campaign or number)


class ProvisionNumberView(ManageCampaignMixin, FormView):
    """"Provision a tracking number" for a campaign: from the inventory, or a new one."""

    form_class = ProvisionNumberForm
    template_name = "tracking/provision_number.html"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return super().dispatch(request, *args, **kwargs)
        self.campaign = self.get_campaign()
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        return super().get_context_data(campaign=self.campaign, **kwargs)

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            if data["existing"]:
                number = numbers.assign_number(data["existing"], self.campaign, forward_to=data["forward_to"])
            else:
                number = numbers.add_number(self.request.organization, number=data["number"],
                                            forward_to=data["forward_to"], label=data["label"], campaign=self.campaign)
        except DomainError as error:
            show_on_form(form, error)
            return self.form_invalid(form)
        messages.success(self.request, f"{number} now rings through to {pretty(data['forward_to'])} for this campaign.")
        return redirect(self.campaign)


# --- the voice webhook ------------------------------------------------------------------------------


@method_decorator(csrf_exempt, name="dispatch")  # the Twilio signature is the check
class VoiceWebhookView(View):
    def post(self, request):
        token = settings.TWILIO_AUTH_TOKEN
        signature = request.headers.get("X-Twilio-Signature", "")
        if not token or not signature or not RequestValidator(token).validate(
            request.build_absolute_uri(), request.POST, signature
        ):
            return HttpResponseForbidden("Invalid or missing Twilio signature.")
        answer = numbers.answer_call(to=request.POST.get("To", ""), caller=request.POST.get("From", ""),
                                     call_sid=request.POST.get("CallSid", ""))
        return HttpResponse(answer.twiml, content_type="text/xml")
