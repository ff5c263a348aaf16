"""A campaign's engagement pages (design §12): its participations grid, a participation with "Set state", the
engagement settings and the behaviours. Members read; admins and the campaign's owner change the settings and
behaviours; only admins set a participation's state."""

import copy

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.utils.functional import cached_property
from django.views.generic import TemplateView

from accounts.permissions import AdminRequiredMixin, MemberRequiredMixin, can_manage_campaign, is_org_admin
from campaigns.models import Campaign
from campaigns.permissions import ManageCampaignMixin
from core.errors import DomainError
from core.forms import show_on_form
from grids.tables import SECRET_MASK
from grids.views import GridView

from ..filters import ParticipationFilterSet
from ..forms import BehaviorForm, EngagementSettingsForm, SetStateForm
from ..models import Behavior, EngagementSettings, Event, Participation
from ..rules import FLAGS
from ..services.context import context_of
from ..services.listing import participation_rows
from ..services.participations import set_state
from ..services.setup import add_behavior, configure_engagement, save_behavior
from ..services.views import participation_view
from ..tables import ParticipationTable

RECENT = 50


class ParticipationListView(GridView):
    model = Participation
    table_class = ParticipationTable
    filterset_class = ParticipationFilterSet
    template_name = "engagement/participation_list.html"
    empty_text = "No participations yet: customers join by opting in or with their first event."

    definitions = {
        state.value.capitalize(): ", ".join(name for name, on in vars(flags).items() if on) or "no flag"
        for state, flags in FLAGS.items()
    } | {"Instance": "The system's lifecycle: expired at the campaign's (or claim window's) end, deleted on delete."}

    @cached_property
    def campaign(self) -> Campaign:
        # read after dispatch's checks (a property, not setup()), through the scope: another organization's is a 404
        return get_object_or_404(Campaign.objects.all(), pk=self.kwargs["pk"])

    def get_queryset(self):
        return participation_rows(self.campaign)

    def post(self, request, *args, **kwargs):
        self.campaign  # noqa: B018 (saving filters on another organization's campaign is a 404 too)
        return super().post(request, *args, **kwargs)

    @property
    def page_title(self) -> str:
        return f"Participations in {self.campaign.name}"

    @property
    def download_name(self) -> str:
        return f"participations-{self.campaign.pk}"

    def get_context_data(self, **kwargs):
        return super().get_context_data(campaign=self.campaign, **kwargs)


def participation_page(request, participation: Participation, form: SetStateForm | None = None) -> dict:
    ctx = context_of(participation.campaign)
    entity = participation_view(ctx, participation.customer, participation, is_test=participation.is_test)
    admin = is_org_admin(request.membership)
    outcomes = [{"type": outcome.type, "at": outcome.at, "behavior_id": outcome.behavior_id,
                 "code": (outcome.award.code if admin else SECRET_MASK) if outcome.award else outcome.issuance.code}
                for outcome in entity.outcomes]
    return {
        "participation": participation, "object": participation, "campaign": participation.campaign,
        "entity": entity, "outcomes": outcomes,
        "behavior_names": {behavior.pk: behavior.name for behavior in ctx.behaviors},
        "history": participation.changes.select_related("changed_by")[:RECENT],
        "events": Event.objects.filter(participation=participation).select_related("behavior")[:RECENT],
        "can_set_state": admin,
        "state_form": form or SetStateForm(initial={"state": participation.state}),
    }


def _participation(pk: int) -> Participation:
    return get_object_or_404(Participation.objects.select_related("campaign", "customer"), pk=pk)


class ParticipationDetailView(MemberRequiredMixin, TemplateView):
    template_name = "engagement/participation_detail.html"

    def get(self, request, pk):
        return self.render_to_response(participation_page(request, _participation(pk)))


class SetStateView(AdminRequiredMixin, TemplateView):
    """An admin's "Set state": any state but claimed, claimable only once every goal is met; recorded."""

    template_name = "engagement/participation_detail.html"
    http_method_names = ["post"]

    def post(self, request, pk):
        participation = _participation(pk)
        form = SetStateForm(request.POST)
        if form.is_valid():
            try:
                set_state(participation, form.cleaned_data["state"], by=request.user, why=form.cleaned_data["why"])
            except DomainError as error:
                show_on_form(form, error)
            else:
                messages.success(request, f"State set to {form.cleaned_data['state']}.")
                return redirect("engagement:participation-detail", pk=participation.pk)
        return self.render_to_response(participation_page(request, participation, form))


class EngagementSettingsView(ManageCampaignMixin, TemplateView):
    template_name = "engagement/settings_form.html"

    def show(self, form, campaign):
        return self.render_to_response({"form": form, "campaign": campaign})

    def get(self, request, pk):
        campaign = self.get_campaign()
        found = EngagementSettings.objects.filter(campaign=campaign).first()
        return self.show(EngagementSettingsForm(instance=found, campaign=campaign), campaign)

    def post(self, request, pk):
        campaign = self.get_campaign()
        found = EngagementSettings.objects.filter(campaign=campaign).first() or EngagementSettings(campaign=campaign)
        form = EngagementSettingsForm(request.POST, instance=copy.copy(found), campaign=campaign)
        if form.is_valid():
            try:
                configure_engagement(campaign, **form.cleaned_data)
            except DomainError as error:
                show_on_form(form, error)
            else:
                messages.success(request, "Engagement settings saved.")
                return redirect(campaign)
        return self.show(form, campaign)


def _has_counted(behavior: Behavior) -> bool:
    return behavior.pk is not None and Event.objects.filter(behavior=behavior, counted=True).exists()


class BehaviorFormView(MemberRequiredMixin, TemplateView):
    """Add a behaviour (``pk`` is the campaign's) or edit one (``pk`` is the behaviour's)."""

    template_name = "engagement/behavior_form.html"
    editing = False  # set in urls.py

    def get_behavior(self) -> Behavior:
        if self.editing:
            behavior = get_object_or_404(Behavior.objects.select_related("campaign"), pk=self.kwargs["pk"])
        else:
            behavior = Behavior(campaign=get_object_or_404(Campaign.objects.all(), pk=self.kwargs["pk"]))
        if not can_manage_campaign(self.request.membership, behavior.campaign):
            raise PermissionDenied("Only admins and the campaign's owner can change its behaviours.")
        return behavior

    def show(self, form, behavior):
        return self.render_to_response({"form": form, "behavior": behavior, "campaign": behavior.campaign})

    def get(self, request, pk):
        behavior = self.get_behavior()
        form = BehaviorForm(instance=behavior, campaign=behavior.campaign, locked=_has_counted(behavior))
        return self.show(form, behavior)

    def post(self, request, pk):
        behavior = self.get_behavior()
        form = BehaviorForm(request.POST, instance=copy.copy(behavior), campaign=behavior.campaign,
                            locked=_has_counted(behavior))
        if form.is_valid():
            try:
                if self.editing:
                    save_behavior(behavior, **form.service_fields())
                else:
                    add_behavior(behavior.campaign, **form.service_fields())
            except DomainError as error:
                show_on_form(form, error)
            else:
                messages.success(request, "Behaviour saved.")
                return redirect(behavior.campaign)
        return self.show(form, behavior)


class BehaviorArchiveView(BehaviorFormView):
    """Archive a behaviour (its events stop counting; its history stays), or bring it back."""

    editing = True
    http_method_names = ["post"]

    def post(self, request, pk):
        behavior = self.get_behavior()
        archive = request.POST.get("archived", "1") != "0"
        try:
            save_behavior(behavior, archived=archive)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Behaviour archived." if archive else "Behaviour restored.")
        return redirect(behavior.campaign)
