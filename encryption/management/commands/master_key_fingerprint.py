"""manage.py master_key_fingerprint: print the public fingerprint of the current master key.

The fingerprint identifies the key without revealing it. Another region lists it in its
OTHER_REGION_KEY_FINGERPRINTS, so that region refuses to start with this region's key.
"""

from django.core.management.base import BaseCommand

from encryption.keys import master_key_fingerprint


class Command(BaseCommand):
    help = "Print the fingerprint of BOUNTY_MASTER_KEY (safe to share; it reveals nothing)."
    requires_system_checks = []

    def handle(self, **options):
        self.stdout.write(master_key_fingerprint())
