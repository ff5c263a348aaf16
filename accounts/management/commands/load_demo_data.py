from django.core.management.base import BaseCommand

from accounts.demo import load_demo


class Command(BaseCommand):
    help = ("Loads a demo organization (an admin, a standard user, a live campaign with vouchers, incentive pools "
            "and a tracking number, engagement campaigns with customers part-way through) and prints logins.")

    def add_arguments(self, parser):
        parser.add_argument("--vouchers", type=int, default=200, help="Vouchers of each type, test and live.")

    def handle(self, *args, vouchers: int, **options):
        demo = load_demo(vouchers)
        self.stdout.write(self.style.SUCCESS("Demo organization ready at http://127.0.0.1:8000/"))
        for username, (password, role) in demo.logins.items():
            self.stdout.write(f"  {role:<8} login: {username} / {password}")
        if demo.key:  # last: scripts read the key off the last line
            self.stdout.write(f"  live API key of the demo campaign (shown once): {demo.key}")
