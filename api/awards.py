"""``POST /api/v1/awards`` (design §8): the request and answer shapes; the rules are in
``incentives.services.awards``."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Router, Schema
from pydantic import ConfigDict, field_validator, model_validator

from accounts.currencies import currency_codes, is_currency
from incentives.models import Voucher
from incentives.services.awards import award_voucher
from interactions.models import Interaction
from interactions.services.log import Redeemer

from .envelope import answers, entity_of, records, written
from .schemas import Text, decimal_amount, documented

router = Router(tags=["awards"])


def _one_of_them_given(*names: str) -> list[dict]:
    """JSON Schema for "at least one of these, not null" (the model validator's rule)."""
    return [{"required": [name], "properties": {name: {"type": "string"}}} for name in names]


class RedeemerIn(Schema):
    model_config = ConfigDict(json_schema_extra={"anyOf": _one_of_them_given("mobile", "email", "external_id")})

    mobile: str | None = Field(None, max_length=32, pattern=r"^\+?[0-9][0-9 ().-]{2,31}$", examples=["+15551234567"])
    email: Text | None = Field(
        None, max_length=254, json_schema_extra={"format": "email"}, examples=["ann@example.com"]
    )
    external_id: Text | None = Field(None, min_length=1, max_length=200, description="Your own id for the redeemer.")

    @field_validator("email")
    @classmethod
    def _email_is_valid(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                validate_email(value)
            except DjangoValidationError:
                raise ValueError("Enter a valid email address.") from None
        return value

    @model_validator(mode="after")
    def _names_someone(self) -> "RedeemerIn":
        if not (self.mobile or self.email or self.external_id):
            raise ValueError("Give at least one of mobile, email, external_id.")
        return self


class AwardIn(Schema):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "vendor": "ACME",
                    "amount": "10.00",
                    "currency": "USD",
                    "redeemer": {"email": "ann@example.com"},
                    "reference": "order-1234",
                }
            ]
        }
    )

    vendor: Text = Field(min_length=1, max_length=100, examples=["ACME"])
    amount: decimal_amount(Voucher._meta.get_field("amount")) = Field(  # type: ignore[valid-type]
        examples=["10.00"], description="A decimal string or a JSON number, at most 2 decimals and 12 digits."
    )
    currency: Annotated[str, documented(enum=sorted(currency_codes()))] | None = Field(
        None, pattern=r"^[A-Z]{3}$", description="ISO 4217; the organization's default currency when absent."
    )
    redeemer: RedeemerIn
    reference: Text | None = Field(
        None, min_length=1, max_length=100,
        description="Makes the award idempotent for this key: a replay answers 200 (for 90 days by default).",
    )

    @field_validator("currency")
    @classmethod
    def _currency_is_iso(cls, value: str | None) -> str | None:
        if value is not None and not is_currency(value):
            raise ValueError(f"{value!r} is not an ISO 4217 currency code.")
        return value


class AwardOut(Schema):
    id: int
    code: str
    pin: str | None
    vendor: str
    amount: Decimal
    currency: str
    expires_at: datetime | None
    test: bool = Field(description="A test voucher, awarded to a test key.")
    campaign: str = Field(description="The campaign's external_id.")


class AwardResponse(Schema):
    status: Literal["ok"]
    award: AwardOut


@router.post(
    "/awards",
    operation_id="createAward",
    **answers(
        {201: AwardResponse, 200: AwardResponse},
        "campaign_not_live", "campaign_ended", "unknown_vendor", "out_of_vouchers", "redeemer_limit_reached",
        "idempotency_conflict",
    ),
    summary="Award a voucher",
    description="Gives the redeemer one available voucher of the type (vendor, amount, currency): 201. "
    "A `reference` sent again by the same key replays the first answer with 200 and awards nothing.",
)
@records(Interaction.Kind.AWARD, created=True)
def create_award(request, payload: AwardIn):
    draft = request.interaction_draft
    redeemer = payload.redeemer
    draft.redeemer = Redeemer(
        mobile=redeemer.mobile or "", email=redeemer.email or "", external_id=redeemer.external_id or ""
    )
    result = award_voucher(
        request.auth,
        vendor=payload.vendor,
        amount=payload.amount,
        currency=payload.currency,
        redeemer=draft.redeemer,
        reference=payload.reference,
        draft=draft,
    )
    # An Award's fields are AwardOut's, one for one: rendered without validating again (the hot path).
    return written(request, "award", result, entity_of(result), payload.reference)
