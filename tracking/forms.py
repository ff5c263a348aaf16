from django import forms

from campaigns.models import Campaign

from .models import TrackingNumber
from .phone import to_e164


class PhoneNumberField(forms.CharField):
    """Any way of writing a valid number in; E.164 out; a clear message otherwise."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        kwargs.setdefault("widget", forms.TextInput(attrs={"placeholder": "+14155550123", "inputmode": "tel"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        return to_e164(value) if value else value


class TrackingNumberForm(forms.ModelForm):
    number = PhoneNumberField()
    forward_to = PhoneNumberField(help_text="Where calls ring through while the campaign is active.")
    # Declared so its choices are read per request, inside the organization's scope.
    campaign = forms.ModelChoiceField(queryset=Campaign.objects.none(), required=False,
                                      empty_label="— none: keep in the inventory —")

    class Meta:
        model = TrackingNumber
        fields = ["number", "forward_to", "label", "campaign"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campaign"].queryset = Campaign.objects.all()
        if self.instance.pk:
            self.fields["number"].disabled = True

    def clean_number(self):
        number = self.cleaned_data["number"]
        if not self.instance.pk and TrackingNumber._base_manager.filter(number=number).exists():
            raise forms.ValidationError("This number is already in use.")
        return number


class ProvisionNumberForm(forms.Form):
    """From a campaign: take a number from the inventory, or add a new one; and say where calls go."""

    existing = forms.ModelChoiceField(queryset=TrackingNumber.objects.none(), required=False,
                                      label="A number from the inventory", empty_label="— add a new number —")
    number = PhoneNumberField(required=False, label="Or a new number")
    forward_to = PhoneNumberField(help_text="Where calls ring through while the campaign is active.")
    label = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["existing"].queryset = TrackingNumber.objects.filter(campaign__isnull=True)

    def clean(self):
        cleaned = super().clean()
        existing, number = cleaned.get("existing"), cleaned.get("number")
        if not existing and not number and "number" not in self.errors:
            self.add_error("number", "Pick a number from the inventory or enter a new one.")
        if existing and number:
            self.add_error("number", "Pick a number from the inventory or enter a new one, not both.")
        if number and TrackingNumber._base_manager.filter(number=number).exists():
            self.add_error("number", "This number is already in use.")
        return cleaned
