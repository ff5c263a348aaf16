"""The engagement pages' forms. They check shapes; the services (``setup``, ``customers``, ``set_state``) check
the rules and their errors show on these forms (``core.forms.show_on_form``)."""

import re

from django import forms

from campaigns.forms import DATETIME_WIDGET
from incentives.models import IncentivePool

from .models import Behavior, EngagementSettings
from .rules import ADMIN_STATES
from .services.setup import LOCKED_ONCE_COUNTED

WINDOW_FIELDS = [f"{window}_{bound}" for window in ("opt_in", "visible", "earn", "claim")
                 for bound in ("starts_at", "ends_at")]


def split_tags(text: str) -> tuple[str, ...]:
    return tuple(tag for tag in re.split(r"[\s,]+", text) if tag)


class TagsField(forms.CharField):
    """Tags typed as one text, separated by spaces or commas (checked by the customers service)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Separated by spaces or commas; each 1 to 50 of a-z, 0-9, _ . : -")
        super().__init__(**kwargs)

    def to_python(self, value):
        return split_tags(super().to_python(value))


class CustomerTagsForm(forms.Form):
    tags = TagsField()


class CustomerForm(forms.Form):
    external_id = forms.CharField(max_length=200, label="External ID")
    email = forms.EmailField(required=False)
    mobile = forms.CharField(max_length=32, required=False)
    tags = TagsField()


class SetStateForm(forms.Form):
    state = forms.ChoiceField(choices=[(state.value, state.value.capitalize()) for state in ADMIN_STATES],
                              help_text="Any state but claimed; claimable only once every goal is met.")
    why = forms.CharField(max_length=150, help_text="Kept in the history with your name.")


def _linked_pools(campaign):
    return IncentivePool.objects.filter(pk__in=campaign.pools.values("pk"))


class EngagementSettingsForm(forms.ModelForm):
    claim_reward_pool = forms.ModelChoiceField(queryset=IncentivePool.objects.none(), required=False,
                                               help_text="Or a code of this linked pool.")

    class Meta:
        model = EngagementSettings
        fields = ["optin_required", *WINDOW_FIELDS[:2], "opt_in_limit", "qualify_tag", "disqualify_tag",
                  *WINDOW_FIELDS[2:], "claim_required", "claim_reward_vendor", "claim_reward_amount",
                  "claim_reward_currency", "claim_reward_pool"]
        widgets = {name: DATETIME_WIDGET for name in WINDOW_FIELDS}
        help_texts = {name: "Empty: open. Inside the campaign's dates." for name in WINDOW_FIELDS}

    def __init__(self, *args, campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["claim_reward_pool"].queryset = _linked_pools(campaign)


class BehaviorForm(forms.ModelForm):
    unlimited = forms.BooleanField(required=False, label="Unlimited completions",
                                   help_text="Leave off and set the maximum below to limit them.")
    reward_pool = forms.ModelChoiceField(queryset=IncentivePool.objects.none(), required=False,
                                         help_text="Or a code of this linked pool.")

    class Meta:
        model = Behavior
        fields = ["name", "external_id", "event_name", "goal", "unlimited", "max_times_repeatable",
                  "max_times_repeatable_per_period", "period", "min_time_between_events", "reward_vendor",
                  "reward_amount", "reward_currency", "reward_pool"]
        help_texts = {"goal": "Events needed for a completion; 0: counted without end (no completion, no reward).",
                      "max_times_repeatable": "Completions at most."}

    def __init__(self, *args, campaign, locked: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reward_pool"].queryset = _linked_pools(campaign)
        self.fields["max_times_repeatable"].required = False
        if self.instance.pk is not None:
            self.initial["unlimited"] = self.instance.max_times_repeatable is None
        self.locked = locked
        if locked:  # what counting depends on cannot change once an event counted (setup.LOCKED_ONCE_COUNTED)
            for name in (*LOCKED_ONCE_COUNTED, "unlimited"):
                self.fields[name].disabled = True
                self.fields[name].help_text = "Locked: this behaviour has counted events. Archive it instead."

    def clean(self):
        cleaned = super().clean()
        if self.locked:
            return cleaned
        if cleaned.get("unlimited"):
            cleaned["max_times_repeatable"] = None
        elif cleaned.get("max_times_repeatable") is None and "max_times_repeatable" not in self.errors:
            self.add_error("max_times_repeatable", "Set a maximum, or tick Unlimited completions.")
        return cleaned

    def service_fields(self) -> dict:
        """The fields for ``setup.save_behavior``: the locked ones left out, so they stay as they are."""
        names = [name for name in self.Meta.fields if name != "unlimited" and not self.fields[name].disabled]
        return {name: self.cleaned_data[name] for name in names}


class EngagementStepForm(forms.Form):
    """The builder's optional engagement step: the opt-in and a first behaviour (the rest on the campaign page)."""

    enabled = forms.BooleanField(required=False, label="Set up engagement for this campaign",
                                 help_text="Customers advance behaviours with events and earn its vouchers or codes.")
    optin_required = forms.BooleanField(required=False, label="Customers opt in first")
    opt_in_limit = forms.IntegerField(required=False, min_value=1, help_text="Most participants; empty: any.")
    behavior_name = forms.CharField(required=False, max_length=200, label="First behaviour")
    event_name = forms.CharField(required=False, max_length=100, help_text="The event that advances it.")
    goal = forms.IntegerField(required=False, min_value=0, initial=1, help_text="Events needed for a completion.")
    reward_vendor = forms.CharField(required=False, max_length=100, help_text="A voucher of this vendor and amount.")
    reward_amount = forms.DecimalField(required=False, max_digits=12, decimal_places=2)

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("enabled"):
            for name in ("behavior_name", "event_name"):
                if not cleaned.get(name):
                    self.add_error(name, "Needed to set up engagement.")
            if cleaned.get("goal") is None and "goal" not in self.errors:
                self.add_error("goal", "Needed to set up engagement.")
        return cleaned
