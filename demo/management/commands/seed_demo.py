from django.conf import settings
from django.core.management.base import BaseCommand

from demo.world import DEFAULT_PASSWORD, seed_demo_world


class Command(BaseCommand):
    help = "Load the reference program and a demo world. Safe to run again: it changes nothing."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help="Password of the demo accounts when they are created (default: %(default)s).",
        )

    def handle(self, *args, password, **options):
        world = seed_demo_world(password=password)
        site = settings.SITE_URL
        self.stdout.write(self.style.SUCCESS("Demo program loaded."))
        self.stdout.write(f"  Admin (staff):        {site}/admin/")
        self.stdout.write(f"  Portal (researchers): {site}/portal/")
        self.stdout.write(f"  Security policy:      {site}/security/")
        self.stdout.write(f"  Health:               {site}/healthz")
        self.stdout.write(f"  Logins (password for new accounts: {world.password}):")
        for email, user in world.users.items():
            role = ", ".join(g.name for g in user.groups.all()) or "researcher"
            self.stdout.write(f"    {email:<22} {role}")
