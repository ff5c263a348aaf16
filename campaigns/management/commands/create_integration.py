"""``manage.py create_integration <campaign external_id> --name NAME --status test|live [--organization SLUG]``.

Creates an integration through the same service as the pages and prints its key once, alone on the last
line of the output, so a script can take it with ``| tail -n 1``.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from campaigns.models import Integration
from campaigns.services.campaigns import find_campaign_by_external_id
from campaigns.services.integrations import create_integration
from core.errors import DomainError
from core.scoping import organization_scope

NEW_STATUSES = (Integration.Status.TEST.value, Integration.Status.LIVE.value)


class Command(BaseCommand):
    help = "Creates an integration for a campaign and prints its key (shown once, on the last line)."

    def add_arguments(self, parser):
        parser.add_argument("external_id", help="The campaign's external id.")
        parser.add_argument("--name", required=True, help="The integration's name, unique in its campaign.")
        parser.add_argument(
            "--status", required=True, choices=NEW_STATUSES,
            help="test keys award test vouchers; live keys award live vouchers while the campaign is live.",
        )
        parser.add_argument(
            "--organization", metavar="SLUG", help="The campaign's organization, when several have that external id."
        )

    def handle(self, *args, external_id: str, name: str, status: str, organization: str | None, **options):
        name = name.strip()
        max_length = Integration._meta.get_field("name").max_length
        if not name:
            raise CommandError("--name must not be blank.")
        if len(name) > max_length:
            raise CommandError(f"--name is at most {max_length} characters.")
        if status not in NEW_STATUSES:  # argparse's choices check it; this guards callers that bypass the parser
            raise CommandError(f"--status must be one of {', '.join(NEW_STATUSES)}, not {status!r}.")
        try:
            campaign = find_campaign_by_external_id(external_id, organization)
            with organization_scope(campaign.organization), transaction.atomic():
                issued = create_integration(campaign, name=name, status=status)
        except DomainError as error:
            raise CommandError(error.message) from error
        campaign.refresh_from_db(fields=["status"])

        integration = issued.integration
        self.stdout.write(
            f"Created {integration.status} integration {integration.name!r} (id {integration.pk}) for campaign "
            f"{campaign.name!r} ({campaign.external_id}) of {campaign.organization.slug}; "
            f"the campaign is {campaign.status}."
        )
        self.stdout.write("Its key is shown once, on the next line; only its prefix is kept:")
        self.stdout.write(issued.key)
