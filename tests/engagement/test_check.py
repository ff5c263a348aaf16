"""``check_engagement`` (design §12): clean after real activity, and each kind of difference is found; the
management command exits 1 on a difference."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from engagement.models import BehaviorProgress, Completion, EngagementSettings, Participation, ParticipationChange
from engagement.rules import State
from engagement.services.check import check_engagement
from incentives.models import Voucher

from .conftest import VOUCHER, behavior

pytestmark = pytest.mark.usefixtures("unscoped")


@pytest.fixture
def active(engaged):
    setup = engaged(settings={"optin_required": True, "opt_in_limit": 5},
                    behaviors=[behavior("visit", goal=2, max_times_repeatable=None, **VOUCHER),
                               behavior("share", goal=1, period=86400, max_times_repeatable=None,
                                        max_times_repeatable_per_period=1)])
    for name in ("ann", "bob"):
        setup.opt_in(name)
        for _ in range(3):
            setup.event(name, "visit")
            setup.event(name, "share")
    setup.opt_out("bob")
    return setup


def check(setup) -> list[str]:
    return check_engagement(setup.campaign)


def test_real_activity_checks_clean_and_the_command_says_so(active, capsys):
    assert check(active) == []
    call_command("check_engagement", active.campaign.external_id)
    assert "every participation agrees" in capsys.readouterr().out


@pytest.mark.parametrize("tamper, found", [
    (lambda s: BehaviorProgress._base_manager.filter(participation=s.participation("ann"), behavior__event_name="visit")
     .update(progress=0), "its events give"),
    (lambda s: Completion._base_manager.filter(participation=s.participation("ann")).order_by("pk").first().delete(),
     "completions"),
    (lambda s: Voucher._base_manager.filter(status="awarded").update(status="available"), "voucher"),
    (lambda s: Participation._base_manager.filter(pk=s.participation("ann").pk).update(state=State.EXPIRED),
     "its history says"),
    (lambda s: ParticipationChange._base_manager.filter(participation=s.participation("bob")).order_by("pk")
     .first().delete(), "history"),
    (lambda s: EngagementSettings._base_manager.update(opt_in_taken=5), "opt-in slots"),
], ids=["progress", "completion", "voucher", "state", "history", "slots"])
def test_each_difference_is_found(active, tamper, found):
    tamper(active)
    problems = check(active)
    assert problems and any(found in problem for problem in problems), problems
    with pytest.raises(CommandError) as caught:
        call_command("check_engagement", active.campaign.external_id)
    assert caught.value.returncode == 1
