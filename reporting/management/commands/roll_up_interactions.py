from django.core.management.base import BaseCommand

from reporting.rollups import roll_up_interactions


class Command(BaseCommand):
    help = "Roll the closed hours of interactions up for the reporting dashboard (what the beat task does)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true",
                            help="Forget every rollup first and roll everything up again, e.g. after a data import.")

    def handle(self, *args, rebuild: bool = False, **options):
        written = roll_up_interactions(rebuild=rebuild)
        self.stdout.write(f"{written} rollup row(s) written.")
