from django import forms

from accounts.permissions import members_of
from incentives.models import IncentivePool, Vault

from .models import Campaign, Integration

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class CampaignBasicsForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["name", "external_id", "description", "owner"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["owner"].queryset = members_of(organization)

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        taken = Campaign.objects.filter(name__iexact=name).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Another campaign of this organization already has this name.")
        return name

    def clean_external_id(self):
        external_id = self.cleaned_data["external_id"].strip()
        if external_id and Campaign.objects.filter(external_id=external_id).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another campaign of this organization already has this external ID.")
        return external_id


class CampaignScheduleForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = ["starts_at", "ends_at", "end_behavior", "referral_number", "max_awards_per_redeemer"]
        widgets = {"starts_at": DATETIME_WIDGET, "ends_at": DATETIME_WIDGET}
        help_texts = {"starts_at": "Defaults to now.", "max_awards_per_redeemer": "Empty: no cap."}

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["starts_at"].required = False

    def clean(self):
        cleaned = super().clean()
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at <= starts_at:
            self.add_error("ends_at", "The end must be after the start.")
        if cleaned.get("end_behavior") == Campaign.EndBehavior.REFERRAL and not cleaned.get("referral_number"):
            self.add_error("referral_number", "A referral campaign needs the business number to refer callers to.")
        return cleaned

    def _post_clean(self):
        # Campaign.clean() needs both halves of the wizard; the checks above cover this form's part.
        pass


class CampaignLinksForm(forms.Form):
    vaults = forms.ModelMultipleChoiceField(queryset=Vault.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    pools = forms.ModelMultipleChoiceField(queryset=IncentivePool.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["vaults"].queryset = Vault.objects.all()
        self.fields["pools"].queryset = IncentivePool.objects.all()
        if not self.fields["pools"].queryset.exists():
            del self.fields["pools"]


class FirstIntegrationForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Leave empty to add integrations later.")
    status = forms.ChoiceField(choices=[(Integration.Status.TEST, "Test"), (Integration.Status.LIVE, "Live")],
                               initial=Integration.Status.TEST)

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)


class CampaignForm(CampaignBasicsForm):
    """The campaign's edit page: every field a user sets, in one form."""

    vaults = forms.ModelMultipleChoiceField(queryset=Vault.objects.none(), required=False,
                                            widget=forms.CheckboxSelectMultiple)
    pools = forms.ModelMultipleChoiceField(queryset=IncentivePool.objects.none(), required=False,
                                           widget=forms.CheckboxSelectMultiple,
                                           help_text="The campaign's keys issue and redeem codes of these pools.")

    class Meta(CampaignBasicsForm.Meta):
        fields = CampaignBasicsForm.Meta.fields + CampaignScheduleForm.Meta.fields + ["vaults", "pools"]
        widgets = CampaignBasicsForm.Meta.widgets | CampaignScheduleForm.Meta.widgets

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, organization=organization, **kwargs)
        self.fields["vaults"].queryset = Vault.objects.all()
        self.fields["pools"].queryset = IncentivePool.objects.all()


class IntegrationForm(forms.ModelForm):
    class Meta:
        model = Integration
        fields = ["name", "status", "rate_limit_per_minute"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Revoking is its own action, with a confirmation; a form only moves between test and live.
        self.fields["status"].choices = [(Integration.Status.TEST, "Test"), (Integration.Status.LIVE, "Live")]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        campaign_id = self.instance.campaign_id
        if campaign_id and Integration.objects.filter(campaign_id=campaign_id, name__iexact=name).exclude(
                pk=self.instance.pk).exists():
            raise forms.ValidationError("This campaign already has an integration of that name.")
        return name
