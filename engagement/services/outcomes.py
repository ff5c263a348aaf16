"""Outcomes (design §12): a completion's or a claim's reward, given by the award's and the issuance's race-free
picks inside the caller's transaction. Empty stock refuses the whole write (``out_of_vouchers`` /
``pool_exhausted``), so nothing advances and a retry completes once stock is back."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from campaigns.models import Integration
from incentives.models import IncentiveCode, IncentivePool
from incentives.services.awards import OutOfVouchers, award_of, check_redeemer_limit, pick_and_award
from incentives.services.issuance import PoolExhausted, issue_in_steps
from incentives.services.pools import linked_pools, remaining_codes
from incentives.services.thresholds import queue_check_if_low
from incentives.services.vouchers import available, campaign_vouchers
from interactions.services.log import InteractionDraft

from ..models import Customer
from .context import Context
from .views import OutcomeView


@dataclass(frozen=True)
class Reward:
    vendor: str = ""
    amount: Decimal | None = None
    currency: str = ""
    pool_id: int | None = None

    @property
    def is_voucher(self) -> bool:
        return bool(self.vendor) and self.amount is not None

    def currency_in(self, campaign) -> str:
        """A voucher reward's currency: its own, else the organization's default."""
        return self.currency or campaign.organization.default_currency


def reward_of(row, prefix: str = "") -> Reward | None:
    """The reward a behaviour (or, with ``prefix="claim_"``, the engagement settings) names, or None."""
    reward = Reward(
        vendor=getattr(row, f"{prefix}reward_vendor"), amount=getattr(row, f"{prefix}reward_amount"),
        currency=getattr(row, f"{prefix}reward_currency"), pool_id=getattr(row, f"{prefix}reward_pool_id"),
    )
    return reward if reward.is_voucher or reward.pool_id is not None else None


@dataclass(frozen=True)
class Given:
    """An outcome given: the interaction that carries it (the request's own) and the rows it made."""

    interaction_id: int
    voucher_id: int | None
    issuance_id: int | None
    view: OutcomeView | None


def give(
    reward: Reward | None, *, ctx: Context, integration: Integration, draft: InteractionDraft, customer: Customer,
    behavior_id: int | None, now: datetime,
) -> Given:
    """Give ``reward`` (or nothing) and write the request's interaction, in the caller's transaction; the
    completion row takes ``now`` as its time, as the outcome does.

    The interaction is inserted here either way (the award's statement writes it with its voucher), so the
    event or claim row can name it; the caller reports the draft as logged by its write.
    """
    if reward is None:
        return Given(draft.insert(), None, None, None)
    if reward.is_voucher:
        return _give_voucher(reward, ctx, integration, draft, behavior_id, now)
    return _give_code(reward, ctx, integration, draft, customer, behavior_id, now)


def _give_voucher(reward: Reward, ctx: Context, integration: Integration, draft: InteractionDraft,
                  behavior_id: int | None, now: datetime) -> Given:
    campaign = ctx.campaign
    if campaign.max_awards_per_redeemer is not None and draft.redeemer is not None:
        check_redeemer_limit(campaign, draft.redeemer)  # vouchers of events and claims are awards too (§7)
    currency = reward.currency_in(campaign)
    row = pick_and_award(draft, vendor=reward.vendor, amount=reward.amount, currency=currency,
                         is_test=integration.status == Integration.Status.TEST, now=now)
    if row is None:
        raise OutOfVouchers(f"No {reward.vendor} {reward.amount} {currency} voucher is available.")
    award = award_of(row, campaign)
    return Given(award.id, row["voucher_id"], None, OutcomeView(behavior_id, "voucher", award, None, now))


def _give_code(reward: Reward, ctx: Context, integration: Integration, draft: InteractionDraft, customer: Customer,
               behavior_id: int | None, now: datetime) -> Given:
    pool = IncentivePool._base_manager.filter(pk=reward.pool_id, pk__in=linked_pools(ctx.campaign)).first()
    event = None if pool is None else issue_in_steps(pool, customer.external_id, integration)
    if event is None:
        raise PoolExhausted("The reward's pool has no code left to issue" if pool else
                            "The reward's pool is not linked to this campaign.")
    queue_check_if_low(pool)
    return Given(draft.insert(), None, event.id, OutcomeView(behavior_id, "code", None, event, now))


def check_in_stock(reward: Reward | None, *, ctx: Context, integration: Integration) -> None:
    """Refuse as ``give`` would when the reward's stock is empty now (a dry run's look, without a lock)."""
    if reward is None:
        return
    campaign = ctx.campaign
    if reward.is_voucher:
        currency = reward.currency_in(campaign)
        vouchers = campaign_vouchers(campaign).filter(
            available(), vendor=reward.vendor, amount=reward.amount, currency=currency,
            is_test=integration.status == Integration.Status.TEST,
        )
        if not vouchers.exists():
            raise OutOfVouchers(f"No {reward.vendor} {reward.amount} {currency} voucher is available.")
        return
    codes = IncentiveCode._base_manager.filter(remaining_codes(), pool_id=reward.pool_id,
                                               pool_id__in=linked_pools(campaign))
    if not codes.exists():
        raise PoolExhausted("The reward's pool has no code left to issue.")
