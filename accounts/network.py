"""Who is asking, by address: the client address behind trusted proxies, and the staff networks.

One function decides the client address for everything that cares (the staff allowlist, login
lockout, rate limits), so a client cannot be one address to one check and another to the next.
"""

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def client_ip(request) -> str:
    """Return the client's address: REMOTE_ADDR, or the entry our own proxies added to X-F-F.

    With N trusted proxies the last N hops are ours; everything left of them was written by the
    client and proves nothing, so the client is the entry N places from the right.
    """
    remote = request.META.get("REMOTE_ADDR", "")
    hops = settings.TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        # The request did not pass through all of our proxies; trust only the socket.
        return remote
    return forwarded[-hops]


# Written as the whole allowlist, this admits every address: the operator's deliberate choice,
# which production wants spelled out rather than implied by an empty list.
ANY_ADDRESS = "any"
EVERY_NETWORK = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]):
    if ANY_ADDRESS in (entry.strip().lower() for entry in entries):
        if len(entries) > 1:
            raise ImproperlyConfigured(
                f"ADMIN_ALLOWED_NETWORKS: {ANY_ADDRESS!r} admits every address; it cannot be "
                "combined with networks."
            )
        return EVERY_NETWORK
    try:
        return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)
    except ValueError as error:
        raise ImproperlyConfigured(f"ADMIN_ALLOWED_NETWORKS: {error}") from error


def staff_networks():
    return _networks(tuple(settings.ADMIN_ALLOWED_NETWORKS))


def admits_every_address() -> bool:
    """Say whether the operator opened the staff side to every address."""
    return staff_networks() == EVERY_NETWORK


def is_staff_network(address: str) -> bool:
    """Say whether staff may work from ``address``.

    With no networks configured, development admits any address (one machine, nothing set up)
    and production admits none: an allowlist forgotten at deploy time must not leave the admin
    open, so opening it to everyone takes ``ADMIN_ALLOWED_NETWORKS=any``.
    """
    networks = staff_networks()
    if not networks:
        return not settings.PRODUCTION
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks if network.version == ip.version)
