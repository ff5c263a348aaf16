"""The demo's engagement campaigns (design §12): customers part-way through, so a new user meets every state.

Everything goes through the engagement services the API calls (one interaction draft per call, events with a
reference), and time's moves through the beat job's own roll, so the rows are the ones the product writes:
- "Step challenge": opt-in required inside a window, under a limit, not for staff; a two-behaviour goal, each
  behaviour paying a voucher from the demo vault. Customers opted in only, in progress (one with a voucher
  already), completed and paid (``claimed``), opted out (``inactive``), no longer qualified, deleted; and a
  refused opt-in and events that did not count.
- "Summer stamp card": claim required, the claim paying a code from its own pool: ``claimable`` and claimed.
- "Winter stamp card": claim required, its claim window closed yesterday: an unclaimed reward ``expired``, a
  claimed one kept, an unfinished card ``inactive``.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from accounts.models import Organization, User
from campaigns.models import Campaign, Integration
from campaigns.services.integrations import create_integration
from core.errors import DomainError
from engagement.services.customers import CustomerIn
from engagement.services.events import record_event
from engagement.services.participations import claim, delete_instance, opt_in, opt_out
from engagement.services.roll import roll_participation_states
from engagement.services.setup import add_behavior, configure_engagement
from incentives.models import IncentivePool, Vault
from incentives.services.codegen import generate_codes
from interactions.models import Interaction
from interactions.services.log import InteractionDraft

STEPS, STAMPS, WINTER = "steps-demo", "stamps-demo", "winter-stamps-demo"
DAY = timedelta(days=1)


@dataclass
class _Caller:
    """Calls the services as the API does for one integration: a draft per call, a reference per write."""

    integration: Integration
    references: count = field(default_factory=lambda: count(1))

    def _draft(self, kind: str, success_status: int) -> InteractionDraft:
        return InteractionDraft(integration=self.integration, kind=kind, success_status=success_status)

    def _reference(self) -> str:
        return f"demo-{self.integration.campaign.external_id}-{next(self.references)}"

    def opt_in(self, customer: CustomerIn, *, now: datetime | None = None) -> None:
        draft = self._draft(Interaction.Kind.OPT_IN, 201)
        try:
            opt_in(self.integration, customer=customer, draft=draft, reference=self._reference(), now=now)
        except DomainError as refused:  # logged as the API logs a refusal: outside the rolled-back write
            draft.note_error(refused.code, refused.message)
            draft.write(http_status=409)

    def opt_out(self, external_id: str, *, now: datetime | None = None) -> None:
        opt_out(self.integration, customer=CustomerIn(external_id), draft=self._draft(Interaction.Kind.OPT_OUT, 200),
                reference=self._reference(), now=now)

    def events(self, customer: CustomerIn, event_name: str, times: int = 1, *, now: datetime | None = None) -> None:
        for _ in range(times):
            record_event(self.integration, customer=customer, event_name=event_name, occurred_at=None,
                         reference=self._reference(), draft=self._draft(Interaction.Kind.EVENT, 201), now=now)

    def claim(self, external_id: str, *, now: datetime | None = None) -> None:
        claim(self.integration, external_id=external_id, draft=self._draft(Interaction.Kind.CLAIM, 201),
              reference=self._reference(), now=now)

    def delete(self, external_id: str, *, now: datetime | None = None) -> None:
        delete_instance(self.integration, external_id=external_id,
                        draft=self._draft(Interaction.Kind.DELETION, 200), reference=self._reference(), now=now)


def _customer(name: str, *tags: str) -> CustomerIn:
    return CustomerIn(name, email=f"{name}@example.com", tags=tags)


def _campaign(organization: Organization, owner: User, *, name: str, external_id: str, description: str,
              starts_at: datetime, ends_at: datetime, vault: Vault | None = None,
              pool: IncentivePool | None = None) -> Campaign:
    """A live campaign: its reward's vault or pool linked, and a live key (not shown: the demo calls for it)."""
    campaign = Campaign.objects.create(organization=organization, name=name, owner=owner, external_id=external_id,
                                       description=description, starts_at=starts_at, ends_at=ends_at)
    if vault is not None:
        campaign.vaults.add(vault)
    if pool is not None:
        campaign.pools.add(pool)
    create_integration(campaign, name=f"{name} app", status=Integration.Status.LIVE, created_by=owner)
    return Campaign.objects.get(pk=campaign.pk)  # live now: the signals moved it after this copy was loaded


def _caller(campaign: Campaign) -> _Caller:
    return _Caller(Integration._base_manager.select_related("campaign__organization").get(
        campaign=campaign, status=Integration.Status.LIVE))


def load_engagement(organization: Organization, owner: User, vault: Vault) -> list[Campaign]:
    """The three engagement campaigns with their customers; the caller builds them once."""
    now = timezone.now()
    campaigns = [_steps(organization, owner, vault, now), _stamps(organization, owner, now),
                 _winter(organization, owner, vault, now)]
    roll_participation_states(now=timezone.now(), campaign_ids=[campaign.pk for campaign in campaigns])
    return campaigns


def _steps(organization: Organization, owner: User, vault: Vault, now: datetime) -> Campaign:
    campaign = _campaign(
        organization, owner, name="Step challenge", external_id=STEPS, vault=vault,
        description="Engagement: opt in, visit a store three times and write a review; each pays a gift card.",
        starts_at=now - 14 * DAY, ends_at=now + 45 * DAY,
    )
    configure_engagement(campaign, optin_required=True, opt_in_starts_at=now - 14 * DAY,
                         opt_in_ends_at=now + 14 * DAY, opt_in_limit=100, disqualify_tag="staff")
    add_behavior(campaign, name="Visit a store", event_name="store_visit", goal=3, reward_vendor="ACME",
                 reward_amount=Decimal("10.00"), reward_currency="USD")
    add_behavior(campaign, name="Write a review", event_name="review_posted", goal=1, reward_vendor="Globex",
                 reward_amount=Decimal("5.00"), reward_currency="USD")
    api = _caller(campaign)
    ann, ben, cara, dev, eli, fay, ivy = (_customer(name) for name in ("ann", "ben", "cara", "dev", "eli", "fay",
                                                                        "ivy"))
    for customer in (ann, ben, cara, dev, eli, fay, ivy):
        api.opt_in(customer)
    api.opt_in(_customer("gus", "staff"))  # refused: user_ineligible_for_campaign
    api.events(_customer("hal"), "store_visit")  # never opted in: counts nothing
    api.events(ben, "store_visit", 2)  # in progress
    api.events(ivy, "store_visit", 3)  # one goal met, its voucher given; the review still to write
    for done in (cara, fay):  # every goal met: both vouchers given, claimed
        api.events(done, "store_visit", 3)
        api.events(done, "review_posted")
    api.events(dev, "store_visit")
    api.opt_out("dev")  # inactive, progress kept
    api.events(_customer("eli", "staff"), "store_visit")  # now staff: not qualified, the event counts nothing
    api.delete("fay")  # hidden
    return campaign


def _stamps(organization: Organization, owner: User, now: datetime) -> Campaign:
    pool = IncentivePool(organization=organization, name="Stamp card rewards",
                         distribution=IncentivePool.Distribution.UNIQUE)
    pool.full_clean()
    pool.save()
    generate_codes(pool, pattern="STAMP-####-??", count=40)
    campaign = _campaign(
        organization, owner, name="Summer stamp card", external_id=STAMPS, pool=pool,
        description="Engagement with a claim: three coffees fill the card, and claiming it gives a promo code.",
        starts_at=now - 7 * DAY, ends_at=now + 60 * DAY,
    )
    configure_engagement(campaign, claim_required=True, claim_reward_pool=pool)
    add_behavior(campaign, name="Buy a coffee", event_name="coffee_bought", goal=3)
    api = _caller(campaign)
    for name, coffees in (("jo", 3), ("kai", 3), ("lou", 1)):
        api.events(_customer(name), "coffee_bought", coffees)
    api.claim("kai")  # jo's card stays claimable
    return campaign


def _winter(organization: Organization, owner: User, vault: Vault, now: datetime) -> Campaign:
    """Its customers acted days ago (the services take the time), before the earn and claim windows closed."""
    campaign = _campaign(
        organization, owner, name="Winter stamp card", external_id=WINTER, vault=vault,
        description="Engagement whose claims closed yesterday: an unclaimed card expired and is never paid.",
        starts_at=now - 30 * DAY, ends_at=now + 30 * DAY,
    )
    configure_engagement(campaign, claim_required=True, claim_reward_vendor="ACME",
                         claim_reward_amount=Decimal("25.00"), claim_reward_currency="USD",
                         earn_ends_at=now - DAY, claim_ends_at=now - DAY)
    add_behavior(campaign, name="Buy a hot chocolate", event_name="chocolate_bought", goal=2)
    api = _caller(campaign)
    for name, drinks in (("mia", 2), ("ned", 2), ("oli", 1)):
        api.events(_customer(name), "chocolate_bought", drinks, now=now - 3 * DAY)
    api.claim("ned", now=now - 2 * DAY)  # mia never claims: the roll expires her card; oli's goes inactive
    return campaign
