"""The dashboard's engagement counts (design §12) over a period: four grouped queries, whatever the data."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count, Q

from interactions.models import Interaction

from ..models import Completion, Event, ParticipationChange
from ..rules import State

Kind = Interaction.Kind


@dataclass(frozen=True)
class EngagementCounts:
    opt_ins_taken: int = 0  # answered 201: a first opt-in that took its slot
    opt_ins_refused: dict[str, int] = field(default_factory=dict)  # by error code
    opt_outs: int = 0
    events_counted: int = 0
    events_not_counted: dict[str, int] = field(default_factory=dict)  # by reason
    completions: int = 0
    claims: int = 0
    expired_claimables: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)  # "voucher" / "code"

    @property
    def anything(self) -> bool:
        return any((self.opt_ins_taken, self.opt_ins_refused, self.opt_outs, self.events_counted,
                    self.events_not_counted, self.completions, self.claims, self.expired_claimables))


def engagement_counts(organization_id: int, start_at: datetime, end_at: datetime) -> EngagementCounts:
    """The organization's engagement in ``[start_at, end_at)``: opt-ins taken and refused by reason, opt-outs,
    events counted and not counted by reason, completions, claims, claimables expired, outcomes by type."""
    taken = opt_outs = 0
    refused: dict[str, int] = {}
    calls = (Interaction._base_manager.filter(organization_id=organization_id, kind__in=[Kind.OPT_IN, Kind.OPT_OUT],
                                              created_at__gte=start_at, created_at__lt=end_at)
             .values_list("kind", "outcome", "error_code", "http_status").annotate(n=Count("id")).order_by())
    for kind, outcome, error_code, http_status, n in calls:
        success = outcome == Interaction.Outcome.SUCCESS
        if kind == Kind.OPT_OUT:
            opt_outs += n if success else 0
        elif success and http_status == 201:
            taken += n
        elif not success:
            code = error_code or outcome
            refused[code] = refused.get(code, 0) + n
    counted, not_counted = 0, {}
    events = (Event._base_manager.filter(campaign__organization_id=organization_id, created_at__gte=start_at,
                                         created_at__lt=end_at)
              .values_list("counted", "reason").annotate(n=Count("id")).order_by())
    for was_counted, reason, n in events:
        if was_counted:
            counted += n
        else:
            not_counted[reason or "not_counted"] = not_counted.get(reason or "not_counted", 0) + n
    made = Completion._base_manager.filter(participation__campaign__organization_id=organization_id,
                                           created_at__gte=start_at, created_at__lt=end_at).aggregate(
        completions=Count("id", filter=Q(behavior__isnull=False)), claims=Count("id", filter=Q(behavior__isnull=True)),
        voucher=Count("voucher"), code=Count("issuance"),
    )
    expired = ParticipationChange._base_manager.filter(
        participation__campaign__organization_id=organization_id, changed_at__gte=start_at, changed_at__lt=end_at,
        from_state=State.CLAIMABLE, to_state=State.EXPIRED,
    ).count()
    return EngagementCounts(
        opt_ins_taken=taken, opt_ins_refused=dict(sorted(refused.items())), opt_outs=opt_outs,
        events_counted=counted, events_not_counted=dict(sorted(not_counted.items())),
        completions=made["completions"], claims=made["claims"], expired_claimables=expired,
        outcomes={kind: made[kind] for kind in ("voucher", "code") if made[kind]},
    )
