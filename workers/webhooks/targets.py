"""The SSRF guard: a webhook may not be pointed at internal services.

A target URL's host is resolved and every address it resolves to must be outside the
denied ranges (private, loopback, link-local including cloud metadata, shared CGNAT,
multicast, reserved, unspecified, and ``deny_networks``) unless inside
``allow_networks``; with ``allowed_hosts`` set, only those host names are accepted. The
check runs at registration and again at every delivery, and the delivery connects to the
address that was checked (the host name goes in ``Host`` and TLS SNI), so a DNS answer
that changes between check and connect (DNS rebinding) cannot redirect it. Redirects are
not followed.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.errors import InputError
from core.settings import WebhookSettings

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Ranges the ipaddress flags do not all cover.
_ALWAYS_DENIED = [
    ipaddress.ip_network(n)
    for n in ("0.0.0.0/8", "100.64.0.0/10", "192.0.0.0/24", "198.18.0.0/15", "fc00::/7")
]


class TargetRefused(InputError):
    """A webhook URL that is malformed or points at a denied address."""

    code = "webhook_target_refused"


@dataclass(frozen=True)
class Target:
    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked address the delivery connects to


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (replaceable in tests that simulate DNS)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"the host {host!r} does not resolve: {exc}") from exc
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _networks(names: list[str]) -> list[IpNetwork]:
    return [ipaddress.ip_network(n, strict=False) for n in names]


def denied_reason(address: IpAddress, settings: WebhookSettings) -> str | None:
    """Why ``address`` may not be a target, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if any(address in n for n in _networks(settings.allow_networks)):
        return None
    flags = (
        ("loopback", address.is_loopback),
        ("private", address.is_private),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("unspecified", address.is_unspecified),
    )
    for name, hit in flags:
        if hit:
            return f"{address} is a {name} address"
    for network in [*_ALWAYS_DENIED, *_networks(settings.deny_networks)]:
        if address in network:
            return f"{address} is in the denied range {network}"
    return None


def check_target(url: str, settings: WebhookSettings) -> Target:
    """The URL's checked target; raises TargetRefused for anything not allowed."""
    parts = urlsplit(url.strip())
    allowed_schemes = ("https",) if settings.require_https else ("http", "https")
    if parts.scheme not in allowed_schemes:
        raise TargetRefused(f"the URL must start with {' or '.join(allowed_schemes)}://")
    host = parts.hostname
    if not host:
        raise TargetRefused("the URL has no host")
    if parts.username or parts.password:
        raise TargetRefused("credentials in the URL are not accepted; use the signature")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise TargetRefused(f"bad port in {url!r}") from exc
    if settings.allowed_hosts and host.lower() not in {h.lower() for h in settings.allowed_hosts}:
        raise TargetRefused(f"{host} is not in the allowed hosts")
    addresses = resolve(host, port)
    if not addresses:
        raise TargetRefused(f"the host {host!r} does not resolve")
    for text in addresses:
        reason = denied_reason(ipaddress.ip_address(text.split("%")[0]), settings)
        if reason is not None:
            raise TargetRefused(f"{host} resolves to a denied address: {reason}")
    return Target(url=url, scheme=parts.scheme, host=host, port=port, address=addresses[0])
