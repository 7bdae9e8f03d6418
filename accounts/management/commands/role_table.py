from django.core.management.base import BaseCommand

from accounts.role_table import role_table_markdown


class Command(BaseCommand):
    help = "Print the role table (accounts/roles.py) as Markdown, as the README shows it."

    def handle(self, *args, **options):
        self.stdout.write(role_table_markdown())
