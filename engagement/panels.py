"""What engagement adds to the campaign page and the builder (``campaigns.extensions``), filled at app ready."""

from django.db.models import Count

from accounts.permissions import can_manage_campaign
from campaigns.extensions import CAMPAIGN_PANELS, WIZARD_STEPS, CampaignPanel, WizardStep
from core.errors import DomainError

from .forms import EngagementStepForm
from .models import Behavior, EngagementSettings, Event, Participation
from .services.setup import add_behavior, configure_engagement


def campaign_panel(request, campaign) -> dict:
    """The engagement card: settings, behaviours (which are locked) and participations by state (4 queries)."""
    behaviors = list(Behavior.objects.filter(campaign=campaign).select_related("reward_pool")
                     .order_by("archived", "pk"))
    counted = set(Event.objects.filter(behavior__in=[b.pk for b in behaviors], counted=True)
                  .values_list("behavior_id", flat=True).distinct()) if behaviors else set()
    by_state = dict(Participation.objects.filter(campaign=campaign).values_list("state").annotate(n=Count("id"))
                    .order_by())
    return {
        "campaign": campaign,
        "settings": EngagementSettings.objects.filter(campaign=campaign).select_related("claim_reward_pool").first(),
        "behaviors": [(behavior, behavior.pk in counted) for behavior in behaviors],
        "by_state": sorted(by_state.items()),
        "participations": sum(by_state.values()),
        "can_manage": can_manage_campaign(request.membership, campaign),
    }


def save_step(campaign, data: dict, user) -> None:
    """The builder's engagement step: settings and a first behaviour, when the step was enabled."""
    if not data.get("enabled"):
        return
    configure_engagement(campaign, optin_required=data["optin_required"], opt_in_limit=data["opt_in_limit"])
    reward = {"reward_vendor": data["reward_vendor"], "reward_amount": data["reward_amount"]} \
        if data.get("reward_vendor") or data.get("reward_amount") is not None else {}
    try:
        add_behavior(campaign, name=data["behavior_name"], event_name=data["event_name"], goal=data["goal"], **reward)
    except DomainError as error:  # the behaviour's field names, as the step names them
        error.fields = {{"name": "behavior_name"}.get(name, name): problems for name, problems in error.fields.items()}
        raise


PANEL = CampaignPanel("engagement/campaign_panel.html", campaign_panel)
STEP = WizardStep("engagement", "Engagement", EngagementStepForm, save_step)


def register() -> None:
    """Once, however often the app is made ready (tests may do it again)."""
    if PANEL not in CAMPAIGN_PANELS:
        CAMPAIGN_PANELS.append(PANEL)
    if STEP not in WIZARD_STEPS:
        WIZARD_STEPS.append(STEP)
