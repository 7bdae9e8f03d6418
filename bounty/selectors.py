from bounty.models import Program


class ProgramNotConfigured(Program.DoesNotExist):
    """The deployment has no program yet: run ``manage.py seed_demo`` or create one in the admin."""


def current_program() -> Program:
    """Return this deployment's program."""
    program = Program.objects.first()
    if program is None:
        raise ProgramNotConfigured(
            "No program is configured: create one in the admin or run `manage.py seed_demo`."
        )
    return program
