import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views import View
from django.views.generic import DetailView, TemplateView, UpdateView
from formtools.wizard.views import SessionWizardView

from accounts.permissions import MemberRequiredMixin, can_manage_campaign, is_org_admin
from core.errors import DomainError
from core.forms import show_on_form
from grids.tables import SECRET_MASK
from grids.views import GridView
from incentives.services.vouchers import available_by_type, campaign_vouchers
from tracking.numbers import with_state

from .extensions import CAMPAIGN_PANELS, WIZARD_STEPS
from .filters import CampaignFilterSet, IntegrationFilterSet
from .forms import (
    CampaignBasicsForm,
    CampaignForm,
    CampaignLinksForm,
    CampaignScheduleForm,
    FirstIntegrationForm,
    IntegrationForm,
)
from .models import Campaign, Integration
from .permissions import ManageCampaignMixin
from .services import integrations
from .services.campaigns import create_campaign
from .services.statuses import with_active_now
from .status import STATUS_DEFINITIONS, CampaignStatus, live_checklist
from .tables import CampaignTable, IntegrationTable


def show_new_key(request, template_name: str, context: dict, issued: integrations.IssuedKey,
                 message: str | None, reload_url: str) -> HttpResponse:
    """The one answer that holds a new key: the POST that made it renders it (no redirect), so the key never
    waits in the session table; the page swaps its URL for ``reload_url`` so a reload GETs it without the key."""
    if message:
        messages.success(request, message)
    response = render(request, template_name, context | {"new_key": issued.key, "reload_url": reload_url})
    add_never_cache_headers(response)
    return response


# --- campaigns --------------------------------------------------------------------------------------


class CampaignListView(GridView):
    model = Campaign
    table_class = CampaignTable
    filterset_class = CampaignFilterSet
    create_url = "campaigns:create"
    definitions = {CampaignStatus(status).label: text for status, text in STATUS_DEFINITIONS.items()} | {
        "Active": "YES while now is within the campaign's start and end dates, whatever its status.",
    }
    empty_text = "No campaigns yet."

    def get_queryset(self):
        return with_active_now(Campaign.objects.all()).select_related("owner")


class CampaignDetailView(MemberRequiredMixin, DetailView):
    template_name = "campaigns/campaign_detail.html"

    def get_queryset(self):
        return Campaign.objects.select_related("owner", "organization")

    def get_context_data(self, **kwargs):
        campaign = self.object
        integrations = list(campaign.integrations.all())
        vaults = list(campaign.vaults.all())
        voucher_types = available_by_type(campaign_vouchers(campaign), "vault__name", "is_test")
        pools = list(campaign.pools.all())
        return super().get_context_data(
            integrations=integrations,
            vaults=vaults,
            voucher_types=voucher_types,
            pools=pools,
            interactions=campaign.interactions.select_related("integration", "voucher")[:10],
            numbers=with_state(campaign.numbers.all()),
            status_changes=campaign.status_changes.all()[:20],
            status_definition=STATUS_DEFINITIONS[CampaignStatus(campaign.status)],
            checklist=live_checklist(
                starts_at=campaign.starts_at, ends_at=campaign.ends_at, has_vault=bool(vaults), has_pool=bool(pools),
                has_live_integration=any(i.status == Integration.Status.LIVE for i in integrations),
                now=timezone.now(),
            ),
            can_manage=can_manage_campaign(self.request.membership, campaign),
            # Voucher codes are secrets (design §9): masked for members who are not admins.
            voucher_code_mask=None if is_org_admin(self.request.membership) else SECRET_MASK,
            panels=[(panel.template_name, panel.context(self.request, campaign)) for panel in CAMPAIGN_PANELS],
            **kwargs,
        )


class CampaignUpdateView(ManageCampaignMixin, UpdateView):
    form_class = CampaignForm
    template_name = "campaigns/campaign_form.html"

    def get_object(self, queryset=None):
        return self.get_campaign()

    def get_form_kwargs(self):
        return super().get_form_kwargs() | {"organization": self.request.organization}

    def form_valid(self, form):
        messages.success(self.request, "Campaign saved.")
        return super().form_valid(form)


class CampaignWizardView(MemberRequiredMixin, SessionWizardView):
    """The campaign builder: basics → schedule → links → an optional first integration (design §10)."""

    form_list = [
        ("basics", CampaignBasicsForm),
        ("schedule", CampaignScheduleForm),
        ("links", CampaignLinksForm),
        ("integration", FirstIntegrationForm),
    ]
    template_name = "campaigns/campaign_wizard.html"
    step_titles = {"basics": "Basics", "schedule": "Schedule", "links": "Vaults and pools",
                   "integration": "First integration"}

    @classmethod
    def get_initkwargs(cls, *args, **kwargs):
        """The steps other apps contribute (``extensions.WIZARD_STEPS``) go after the links step."""
        steps = list(cls.form_list)
        at = [name for name, _ in steps].index("links") + 1
        steps[at:at] = [(step.name, step.form_class) for step in WIZARD_STEPS]
        kwargs.setdefault("form_list", steps)
        return super().get_initkwargs(*args, **kwargs)

    def get_form_kwargs(self, step=None):
        return {"organization": self.request.organization}

    def get_form_initial(self, step):
        if step == "basics":
            return {"owner": self.request.user}
        if step == "schedule":
            return {"starts_at": timezone.localtime(timezone.now(), self.request.organization.zone)}
        return {}

    def get_context_data(self, form, **kwargs):
        titles = self.step_titles | {step.name: step.title for step in WIZARD_STEPS}
        return super().get_context_data(form=form, step_titles=titles, **kwargs)

    def done(self, form_list, form_dict, **kwargs):
        basics, schedule = form_dict["basics"].cleaned_data, form_dict["schedule"].cleaned_data
        links, integration = form_dict["links"].cleaned_data, form_dict["integration"].cleaned_data
        failing = None  # the contributed step whose save is running
        try:
            with transaction.atomic():
                campaign = create_campaign(
                    self.request.organization, vaults=links.get("vaults", ()), pools=links.get("pools", ()),
                    **basics, **schedule,
                )
                for step in WIZARD_STEPS:
                    if step.name in form_dict:
                        failing = step.name
                        step.save(campaign, form_dict[step.name].cleaned_data, self.request.user)
                failing = None
                issued = integrations.create_integration(
                    campaign, name=integration["name"], status=integration["status"], created_by=self.request.user,
                ) if integration.get("name") else None
        except DomainError as error:
            if failing is None:
                raise
            show_on_form(form_dict[failing], error)  # nothing was made: the step again, with what the service said
            return self.render_revalidation_failure(failing, form_dict[failing])
        if issued is None:
            return redirect("campaigns:created", pk=campaign.pk)
        campaign = Campaign.objects.get(pk=campaign.pk)  # its status, moved by the new integration
        return show_new_key(
            self.request, "campaigns/campaign_created.html",
            {"campaign": campaign, "object": campaign, "integration": issued.integration}, issued,
            None,
            reverse("campaigns:created", args=[campaign.pk]),
        )


class CampaignCreatedView(MemberRequiredMixin, DetailView):
    """The builder's success window: the campaign, any new key once, and what to do next."""

    template_name = "campaigns/campaign_created.html"

    def get_queryset(self):
        return Campaign.objects.all()

    def get_context_data(self, **kwargs):
        return super().get_context_data(integration=self.object.integrations.first(), **kwargs)


# --- integrations -----------------------------------------------------------------------------------


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

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | integration_page_context(self.request, self.object)


def integration_page_context(request, integration: Integration) -> dict:
    return {
        "object": integration,
        "integration": integration,
        "can_manage": can_manage_campaign(request.membership, integration.campaign),
        "recent_calls": integration.interactions.order_by("-created_at", "-pk")[:20],
    }


def show_integration_key(request, issued: integrations.IssuedKey, message: str) -> HttpResponse:
    return show_new_key(request, "campaigns/integration_detail.html",
                        integration_page_context(request, issued.integration), issued, message,
                        issued.integration.get_absolute_url())


class IntegrationCreateView(ManageCampaignMixin, TemplateView):
    template_name = "campaigns/integration_form.html"

    def get(self, request, pk):
        return self.render_to_response({"form": IntegrationForm(), "campaign": self.get_campaign()})

    def post(self, request, pk):
        campaign = self.get_campaign()
        form = IntegrationForm(request.POST)
        if form.is_valid():
            try:
                issued = integrations.create_integration(campaign, created_by=request.user, **form.cleaned_data)
            except DomainError as error:
                show_on_form(form, error)
            else:
                return show_integration_key(request, issued,
                                            "Integration created. Copy its key now: it is shown only once.")
        return self.render_to_response({"form": form, "campaign": campaign})


class IntegrationUpdateView(MemberRequiredMixin, TemplateView):
    """Rename, switch between test and live, or change the rate limit (revoking has its own confirmation)."""

    template_name = "campaigns/integration_form.html"

    def get_integration(self) -> Integration:
        integration = get_object_or_404(Integration.objects.select_related("campaign"), pk=self.kwargs["pk"])
        if not can_manage_campaign(self.request.membership, integration.campaign):
            raise PermissionDenied("Only admins and the campaign's owner can manage its integrations.")
        return integration

    def show(self, form, integration):
        return self.render_to_response({"form": form, "object": integration, "campaign": integration.campaign})

    def get(self, request, pk):
        integration = self.get_integration()
        return self.show(IntegrationForm(instance=integration), integration)

    def post(self, request, pk):
        integration = self.get_integration()
        # The form validates against a copy (is_valid() writes its values onto its instance); only the fields it
        # changed go to the service, which writes just those.
        form = IntegrationForm(request.POST, instance=copy.copy(integration))
        if form.is_valid():
            try:
                integrations.update_integration(
                    integration, **{field: form.cleaned_data[field] for field in form.changed_data})
            except DomainError as error:
                if error.code != "integration_revoked":
                    show_on_form(form, error)
                    return self.show(form, integration)
                messages.error(request, error.message)
            else:
                messages.success(request, "Integration saved.")
            return redirect(integration)
        return self.show(form, integration)


class IntegrationActionView(MemberRequiredMixin, View):
    """Rotate or revoke a key, after a confirmation page (GET shows it, POST does it)."""

    action = "rotate"  # or "revoke", set in urls.py

    def get_integration(self) -> Integration:
        integration = get_object_or_404(Integration.objects.select_related("campaign"), pk=self.kwargs["pk"])
        if not can_manage_campaign(self.request.membership, integration.campaign):
            raise PermissionDenied("Only admins and the campaign's owner can manage its integrations.")
        return integration

    def get(self, request, pk):
        return render(request, "campaigns/integration_confirm.html",
                      {"integration": self.get_integration(), "action": self.action})

    def post(self, request, pk):
        integration = self.get_integration()
        try:
            if self.action == "rotate":
                return show_integration_key(request, integrations.rotate_integration_key(integration),
                                            "New key issued; the old one no longer works. Copy it now.")
            else:
                integrations.revoke_integration(integration)
                messages.success(request, "Integration revoked: its key is refused from now on.")
        except DomainError as error:
            messages.error(request, error.message)
        return redirect(integration)

