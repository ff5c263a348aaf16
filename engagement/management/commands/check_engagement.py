"""``manage.py check_engagement <campaign external_id> [--organization SLUG]``: recompute every participation of
the campaign from its events and report any difference (exit status 1 when there is one)."""

from django.core.management.base import BaseCommand, CommandError

from campaigns.services.campaigns import find_campaign_by_external_id
from core.errors import DomainError
from core.scoping import organization_scope
from engagement.services.check import check_engagement


class Command(BaseCommand):
    help = "Recomputes a campaign's participations from their events; exit status 1 on any difference."

    def add_arguments(self, parser):
        parser.add_argument("external_id", help="The campaign's external id.")
        parser.add_argument(
            "--organization", metavar="SLUG", help="The campaign's organization, when several have that external id."
        )

    def handle(self, *args, external_id: str, organization: str | None, **options):
        try:
            campaign = find_campaign_by_external_id(external_id, organization)
        except DomainError as error:
            raise CommandError(error.message) from error
        with organization_scope(campaign.organization):
            problems = check_engagement(campaign)
        for problem in problems:
            self.stdout.write(problem)
        if problems:
            raise CommandError(f"{len(problems)} difference(s) in campaign {campaign.external_id!r}.", returncode=1)
        self.stdout.write(f"Campaign {campaign.external_id!r}: every participation agrees with its events.")
