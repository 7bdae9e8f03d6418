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


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]):
    try:
        return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)
    except ValueError as error:
        raise ImproperlyConfigured(f"ADMIN_ALLOWED_NETWORKS: {error}") from error


def staff_networks():
    return _networks(tuple(settings.ADMIN_ALLOWED_NETWORKS))


def is_staff_network(address: str) -> bool:
    """Say whether staff may work from ``address``; with no networks configured, any address."""
    networks = staff_networks()
    if not networks:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in network for network in networks if network.version == ip.version)
