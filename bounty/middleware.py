"""Staff read times in the program's time zone, the one its business days and promises use."""

from zoneinfo import ZoneInfo

from django.utils import timezone

from bounty.models import Program

STAFF_PREFIX = "/admin/"


class ProgramTimezoneMiddleware:
    """Show the admin in the program's time zone, the same clock the portal and mails use."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(STAFF_PREFIX):
            return self.get_response(request)
        zone = Program.objects.values_list("timezone", flat=True).first()
        if not zone:
            return self.get_response(request)
        with timezone.override(ZoneInfo(zone)):
            return self.get_response(request)
