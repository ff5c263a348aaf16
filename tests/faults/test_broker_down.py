"""The broker is down (#16 item 1): a committed change is answered as committed, nothing is lost or doubled,
and the beat job catches up what could not be queued."""

import pytest
from django.core import mail
from django.urls import reverse

from core.scoping import scopes_disabled
from incentives.models import IncentiveCode, IncentivePool, Issuance
from incentives.tasks import check_pool_thresholds
from interactions.models import Interaction


@pytest.fixture
def watched(pools):
    with scopes_disabled():  # 5 codes, a threshold of 4: the first issuance crosses it
        IncentivePool.objects.filter(pk=pools.unique.pk).update(low_threshold=4, notification_email="ops@example.com")
    return pools


pytestmark = pytest.mark.django_db(transaction=True)  # commits for real: the queueing runs inside the request


def test_an_issuance_that_crosses_the_threshold_with_the_broker_down_is_answered_as_committed(
    watched, api, broker
):
    broker.stop()
    response = api.post(f"/pools/{watched.unique.pk}/issuances", {"external_issuee_id": "ann"}, key=watched.key)

    assert response.status_code == 201, response.content
    with scopes_disabled():
        issued = list(Issuance.objects.filter(pool=watched.unique))
        assert [i.code.code for i in issued] == [response.json()["issuance"]["incentive_code"]["code"]]
        assert IncentiveCode.objects.filter(pool=watched.unique, issued_count=1).count() == 1
        logged = list(Interaction.objects.filter(campaign=watched.campaign).values_list("kind", "outcome"))
    assert logged == [("issuance", "success")]  # one interaction, no exception written beside it
    assert mail.outbox == []

    # The beat job catches the crossing the broker missed, once.
    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]


def test_a_bulk_deactivate_that_crosses_the_threshold_with_the_broker_down_is_answered_as_done(
    watched, client, admin_user, broker
):
    codes = reverse("incentives:code-list")
    with scopes_disabled():
        first = IncentiveCode.objects.get(pool=watched.unique, code=f"C{watched.unique.pk}-0")
    client.force_login(admin_user)
    broker.stop()

    query = f"pool={watched.unique.pk}"
    response = client.post(codes, {"action": "bulk:deactivate", "query": query, "selected": [first.pk]})

    assert response.status_code == 302 and response.url == f"{codes}?{query}"  # its usual redirect
    assert "1 code deactivated" in client.get(response.url).content.decode()
    with scopes_disabled():
        assert list(IncentiveCode.objects.filter(pool=watched.unique, active=False)) == [first]
    assert mail.outbox == []

    # The beat job catches the crossing the broker missed, once.
    assert check_pool_thresholds() == 1
    assert check_pool_thresholds() == 0
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["ops@example.com"]
