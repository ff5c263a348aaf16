"""The demo organization of ``manage.py load_demo_data``: every part of the product, for a new user to walk.

Built once, when the organization is new; later runs only give the logins fresh passwords (and add the engagement
campaigns to a demo made before them). Pools, issuances, redemptions, calls and engagement go through the services
the API and the webhook use, so the demo obeys their rules.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.demo_engagement import STEPS, load_engagement
from accounts.models import Membership, Organization, User
from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.scoping import organization_scope
from incentives.models import IncentiveCode, IncentivePool, Vault, Voucher
from incentives.services.codegen import generate_codes
from incentives.services.issuance import issue_code, redeem_code
from interactions.models import Interaction
from interactions.services.log import InteractionDraft, Redeemer
from tracking.models import TrackingNumber
from tracking.numbers import NumberTaken, add_number, answer_call, assign_number

DEMO_SLUG = "demo"
VOUCHER_TYPES = [("ACME", Decimal("10.00")), ("ACME", Decimal("25.00")), ("Globex", Decimal("5.00"))]
FORWARD_TO = "+14155550111"  # the demo business's own line


@dataclass(frozen=True)
class Demo:
    logins: dict[str, tuple[str, str]]  # username: (password, role)
    key: str | None  # the live API key, when this run built the demo (shown once)


@transaction.atomic
def load_demo(vouchers: int = 200) -> Demo:
    """The demo organization with its logins, built unless it exists."""
    organization, created = Organization.objects.get_or_create(
        slug=DEMO_SLUG, defaults={"name": "Demo Organization", "time_zone": "Europe/London",
                                  "default_currency": "USD"}
    )
    logins = {}
    for username, role in (("admin", Membership.Role.ADMIN), ("marketer", Membership.Role.STANDARD)):
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        password = secrets.token_urlsafe(9)  # a fresh one each run, so the printed login always works
        user.set_password(password)
        user.is_staff = user.is_superuser = role == Membership.Role.ADMIN  # the demo admin also sees Django's admin
        user.save()
        Membership.objects.get_or_create(user=user, organization=organization, defaults={"role": role})
        logins[username] = (password, role)
    key = _build(organization, vouchers) if created else None
    _ensure_engagement(organization)
    return Demo(logins, key)


def _ensure_engagement(organization) -> None:
    """The engagement campaigns, unless the demo has them (or lost the vault they pay from)."""
    with organization_scope(organization):
        vault = Vault.objects.filter(name="Demo vault").order_by("pk").first()
        if vault is None or Campaign.objects.filter(external_id=STEPS).exists():
            return
        load_engagement(organization, User.objects.get(username="admin"), vault)


def _build(organization, per_type: int) -> str:
    admin = User.objects.get(username="admin")
    with organization_scope(organization):
        vault = Vault.objects.create(organization=organization, name="Demo vault",
                                     description="Gift cards for the demo campaign.")
        Voucher.objects.bulk_create(
            Voucher(vault=vault, vendor=vendor, amount=amount, currency="USD", is_test=is_test,
                    code=f"{'T' if is_test else 'L'}-{vendor[:3].upper()}-{int(amount)}-{n:05d}",
                    pin=f"{n % 10000:04d}")
            for vendor, amount in VOUCHER_TYPES
            for is_test in (True, False)
            for n in range(per_type)
        )
        campaign = Campaign.objects.create(
            organization=organization, name="Spring gift cards", owner=admin, external_id="spring-demo",
            description="A live demo campaign: a linked vault, incentive pools, a tracking number and a live "
                        "integration.",
            starts_at=timezone.now() - timedelta(days=1), ends_at=timezone.now() + timedelta(days=60),
        )
        campaign.vaults.add(vault)
        create_integration(campaign, name="Demo test app", status="test", created_by=admin)
        issued = create_integration(campaign, name="Demo shop", status="live", created_by=admin)
        # Read back: the signals made the campaign live after the in-memory copy was loaded.
        integration = Integration._base_manager.select_related("campaign").get(pk=issued.integration.pk)
        _load_history(integration.campaign, integration, vault)
        _load_pools(integration)
        _load_tracking(integration.campaign)
        return issued.key


def _load_history(campaign, integration, vault, requests: int = 600) -> None:
    """A month of API traffic, so the interactions grid and the dashboards have something to show."""
    rng = random.Random(2026)
    now = timezone.now()
    # Every third live voucher: each type keeps most of its vouchers for the README's first award to take.
    live = list(Voucher.objects.filter(vault=vault, is_test=False).order_by("pk"))[::3]
    rows, awarded = [], []
    for _ in range(requests):
        at = now - timedelta(minutes=rng.randrange(30 * 24 * 60))
        outcome, code, status = rng.choices(
            [("success", "", 201), ("out_of_stock", "out_of_vouchers", 409), ("error", "unknown_vendor", 422),
             ("error", "invalid_request", 400), ("exception", "internal_error", 500)],
            weights=[75, 8, 8, 7, 2],
        )[0]
        voucher = live.pop() if outcome == "success" and live else None
        if voucher is not None:
            awarded.append(voucher.pk)
        rows.append(Interaction(
            organization=campaign.organization, campaign=campaign, integration=integration, kind="award",
            outcome=outcome, error_code=code, http_status=status, voucher=voucher, created_at=at,
            redeemer_email=f"customer{rng.randrange(400)}@example.com", latency_ms=rng.randrange(8, 60),
        ))
    Interaction.objects.bulk_create(rows)
    Voucher.objects.filter(pk__in=awarded).update(status=Voucher.Status.AWARDED, awarded_at=now)


def _pool(organization, **fields) -> IncentivePool:
    pool = IncentivePool(organization=organization, **fields)
    pool.full_clean()
    pool.save()
    return pool


def _draft(integration, kind: str, issuee: str) -> InteractionDraft:
    """One interaction per write, as the API's request would make it."""
    return InteractionDraft(integration=integration, kind=kind, success_status=201,
                            redeemer=Redeemer(external_id=issuee))


def _load_pools(integration) -> None:
    """A unique pool (one code per customer, watched for running low) and a multi pool (one shared code),
    both issued from, and codes of each redeemed."""
    campaign = integration.campaign
    organization = campaign.organization
    # Remaining codes stay well above the threshold: loading the demo sends no low-threshold email.
    unique = _pool(organization, name="Spring promo codes", distribution=IncentivePool.Distribution.UNIQUE,
                   low_threshold=10, notification_email="ops@example.com")
    generate_codes(unique, pattern="SPRING-####-????", count=50)
    shared = _pool(organization, name="Welcome code", distribution=IncentivePool.Distribution.MULTI)
    generate_codes(shared, pattern="WELCOME-####", count=1)
    campaign.pools.add(unique, shared)

    for pool, issuees in ((unique, range(1, 9)), (shared, (1, 2, 3, 4, 2))):  # customer2 asks for it twice
        events = [
            issue_code(pool, external_issuee_id=f"customer{n}@example.com", integration=integration,
                       draft=_draft(integration, Interaction.Kind.ISSUANCE, f"customer{n}@example.com")).value
            for n in issuees
        ]
        for event in events[:2]:
            code = IncentiveCode._base_manager.select_related("pool").get(pool=pool, code=event.code)
            redeem_code(code, external_issuee_id=event.external_issuee_id, integration=integration,
                        draft=_draft(integration, Interaction.Kind.REDEMPTION, event.external_issuee_id))


def _free_number(organization, **fields) -> TrackingNumber:
    """A number of the fictional 555-01xx range that no organization holds yet (numbers are unique everywhere)."""
    for n in range(100, 200):
        try:
            return add_number(organization, number=f"+1415555{n:04d}", **fields)
        except NumberTaken:
            continue
    raise NumberTaken("Every demo number is already in use.")


def _load_tracking(campaign) -> None:
    """A number on the campaign with a few calls routed through it, and a spare one in the inventory."""
    number = _free_number(campaign.organization, forward_to=FORWARD_TO, label="Spring radio ad")
    assign_number(number, campaign)
    for caller in ("+14155550142", "+14155550157", "+14155550163", "+14155550142"):
        answer_call(to=number.number, caller=caller, call_sid=f"CA{secrets.token_hex(16)}")
    _free_number(campaign.organization, forward_to=FORWARD_TO, label="Spare line")
