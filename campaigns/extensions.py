"""What other apps add to the campaign page and the campaign builder, without ``campaigns`` importing them.

An app built on campaigns (engagement) appends to these lists in its ``AppConfig.ready``; the campaign views
read them. Campaigns knows only the shapes below, never the app that fills them.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms


@dataclass(frozen=True)
class CampaignPanel:
    """A card on the campaign page: ``template_name`` rendered with ``panel`` = ``context(request, campaign)``."""

    template_name: str
    context: Callable[[Any, Any], dict]


@dataclass(frozen=True)
class WizardStep:
    """An optional step of the builder, shown after the links step. ``save(campaign, cleaned_data, user)`` runs
    in the builder's transaction once the campaign is made; a ``DomainError`` it raises shows on the step."""

    name: str
    title: str
    form_class: type[forms.Form]
    save: Callable[[Any, dict, Any], None]


CAMPAIGN_PANELS: list[CampaignPanel] = []
WIZARD_STEPS: list[WizardStep] = []
