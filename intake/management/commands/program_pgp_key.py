from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from bounty.selectors import ProgramNotConfigured, current_program
from intake import pgp


class Command(BaseCommand):
    help = (
        "Keep the program's OpenPGP key: `generate` a new one, `import FILE` an existing secret "
        "key (without passphrase), or `show` the active one. The key in use before is retired "
        "and kept, so mail encrypted to it still opens. The secret part is stored encrypted "
        "with the master key and never printed."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        generate = actions.add_parser("generate", help="Make a new key and make it the program's.")
        generate.add_argument(
            "--user-id",
            help="The key's user ID; by default the program's name and contact address.",
        )
        imported = actions.add_parser("import", help="Make an existing secret key the program's.")
        imported.add_argument("file", metavar="FILE")
        actions.add_parser("show", help="Print the active key's fingerprint and public key.")

    def handle(self, *args, action, **options):
        if action == "generate":
            key = pgp.generate_program_key(options["user_id"] or _default_user_id())
            self.stdout.write(f"Generated {key}; the public key is served at /security/pgp-key.txt")
        elif action == "import":
            path = Path(options["file"])
            if not path.is_file():
                raise CommandError(f"{path}: no such file.")
            try:
                key = pgp.import_program_key(path.read_bytes())
            except pgp.KeyRefused as refused:
                raise CommandError(str(refused)) from None
            self.stdout.write(f"Imported {key}; the public key is served at /security/pgp-key.txt")
        else:
            key = pgp.active_program_key()
            if key is None:
                raise CommandError(
                    "The program has no OpenPGP key: run `program_pgp_key generate`."
                )
            self.stdout.write(f"Fingerprint: {key.fingerprint.upper()}")
            self.stdout.write(f"Active since: {key.created_at:%Y-%m-%d %H:%M} UTC")
            self.stdout.write(key.public_key)


def _default_user_id() -> str:
    try:
        program = current_program()
    except ProgramNotConfigured:
        return settings.INTAKE_ADDRESS or "security"
    address = settings.INTAKE_ADDRESS or program.contact_email
    return f"{program.name} <{address}>"
