from django import forms
from django.db.models import Max
from django.db.models.functions import Length

from .models import IncentiveCode, IncentivePool, Vault

MAX_IMPORT_BYTES = 50 * 1024 * 1024


class VaultForm(forms.ModelForm):
    class Meta:
        model = Vault
        fields = ["name", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if Vault.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another vault of this organization already has this name.")
        return name


class CsvUploadForm(forms.Form):
    file = forms.FileField()

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB.")
        return upload


class VoucherImportForm(CsvUploadForm):
    file = forms.FileField(
        help_text="CSV with the columns vendor, amount, currency, code and optionally pin, expires_at, is_test. "
        "The whole file is checked first: one bad line and nothing is imported."
    )


class CodeImportForm(CsvUploadForm):
    file = forms.FileField(
        help_text="One code a line (a first line reading 'code' is skipped). The whole file is checked first: "
        "one bad line and nothing is imported."
    )


class PoolForm(forms.ModelForm):
    class Meta:
        model = IncentivePool
        fields = ["name", "distribution", "issuance_allowed", "redemption_allowed", "low_threshold",
                  "max_characters", "notification_email"]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if IncentivePool.objects.filter(name__iexact=name).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError("Another pool of this organization already has this name.")
        return name

    def clean_max_characters(self):
        """Between 1 and what a code column holds, and never below the pool's longest code."""
        value = self.cleaned_data["max_characters"]
        limit = IncentiveCode._meta.get_field("code").max_length
        if not 1 <= value <= limit:
            raise forms.ValidationError(f"Codes are 1 to {limit} characters long.")
        if self.instance.pk:
            longest = self.instance.codes.aggregate(longest=Max(Length("code")))["longest"] or 0
            if value < longest:
                raise forms.ValidationError(f"The pool already has codes of {longest} characters: at least {longest}.")
        return value


class GenerateCodesForm(forms.Form):
    pattern = forms.CharField(max_length=255, initial="SPRING-####-????",
                              help_text="# stands for a digit, ? for a letter; everything else is kept as written.")
    count = forms.IntegerField(min_value=1, max_value=100_000)
