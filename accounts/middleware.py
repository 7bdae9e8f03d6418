from django.http import HttpResponseForbidden

from accounts.network import client_ip, is_staff_network

# The admin and the staff single sign-on endpoints (allauth's provider URLs). Researchers sign in
# with email and password, so these paths serve staff only.
STAFF_PATH_PREFIXES = (
    "/admin/",
    "/accounts/oidc/",
    "/accounts/google/",
    "/accounts/microsoft/",
    "/accounts/okta/",
)


class StaffNetworkMiddleware:
    """Refuse the staff side of the desk to clients outside ADMIN_ALLOWED_NETWORKS."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(STAFF_PATH_PREFIXES) and not is_staff_network(
            client_ip(request)
        ):
            # A bare refusal: nothing in it tells a stranger that an admin lives here.
            return HttpResponseForbidden("Forbidden\n", content_type="text/plain")
        return self.get_response(request)
