"""Outbound HTTP to subscribers' URLs, safe against SSRF and slow receivers.

- The target is checked at save time and again at send time *after* DNS resolution, and the
  request connects to the address that was checked (no second lookup a rebinding DNS server
  could answer differently). Loopback, private, link-local, multicast, reserved and
  cloud-metadata addresses are refused; WEBHOOKS_ALLOW_PRIVATE_TARGETS opens only the networks
  in WEBHOOKS_PRIVATE_TARGET_NETWORKS (loopback by default), never metadata or multicast.
- `https` only unless WEBHOOKS_HTTPS_ONLY is off (development); certificates are verified
  against the hostname, not the address.
- Redirects are never followed (a 3xx is reported as such), the response body is read up to a
  cap, and WEBHOOKS_TIMEOUT is a total deadline for connect + send + receive: a watchdog shuts
  the socket down when it passes, so a receiver dripping one byte at a time cannot hold a worker.

urllib3's connection classes are used directly: its pool and `requests` resolve the hostname
themselves, which is exactly the second lookup to avoid.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import certifi
from django.conf import settings
from urllib3.connection import HTTPConnection, HTTPSConnection

# Cloud metadata services: never a webhook target, whatever the settings say.
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
}
USER_AGENT = "MarioPizzeria-Webhooks/1.0"


class TargetRefused(Exception):
    """The URL may not be called (scheme, credentials, or an address that is not public)."""


class DeadlineExceeded(Exception):
    """The whole exchange took longer than the deadline."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # at most the cap
    duration_ms: float
    address: str


def _address_refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address may not be called, or None."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_global:
        return None
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        networks = [ipaddress.ip_network(n, strict=False) for n in settings.WEBHOOKS_PRIVATE_TARGET_NETWORKS]
        if any(ip.version == net.version and ip in net for net in networks):
            return None
    kind = (
        "a loopback"
        if ip.is_loopback
        else "a link-local"
        if ip.is_link_local
        else "a private"
        if ip.is_private
        else "a reserved (not public)"
    )
    return f"{kind} address"


def target_check(url: str, *, resolve: bool = True) -> list[str]:
    """Refuse a URL that may not be called; return the addresses it resolves to (checked)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise TargetRefused(f"Only http(s) URLs can receive webhooks, not {scheme or 'no scheme'!r}")
    if scheme == "http" and settings.WEBHOOKS_HTTPS_ONLY:
        raise TargetRefused("Webhook URLs must use https")
    if parts.username or parts.password:
        raise TargetRefused("Webhook URLs may not carry credentials (user:password@)")
    host = parts.hostname
    if not host:
        raise TargetRefused("The URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise TargetRefused("The URL's port is not a number between 0 and 65535") from None
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is None and not resolve:
        return []
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise socket.gaierror(f"{host} does not resolve: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))  # str: an IP address (never int here)
    for address in addresses:
        # Every address must pass: a name with one public and one private address is refused.
        reason = _address_refusal(ipaddress.ip_address(address.split("%")[0]))
        if reason is not None:
            raise TargetRefused(
                f"{host} resolves to {address}, {reason}; webhooks only go to public addresses"
            )
    return addresses


def post(url: str, *, body: bytes, headers: dict[str, str], deadline: float, max_body: int) -> Response:
    """POST once to a checked address; never follow a redirect; read at most max_body bytes.

    Raises TargetRefused, DeadlineExceeded, socket.gaierror (DNS) or OSError (connection).
    """
    started = time.monotonic()
    parts = urlsplit(url)
    address = target_check(url)[0]
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    remaining = max(deadline - (time.monotonic() - started), 0.001)
    conn: HTTPConnection
    if https:
        conn = HTTPSConnection(
            address,
            port,
            timeout=remaining,
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
        )
    else:
        conn = HTTPConnection(address, port, timeout=remaining)
    expired = threading.Event()

    def watchdog() -> None:
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    timer = threading.Timer(remaining, watchdog)
    timer.daemon = True
    timer.start()
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    host_header = parts.netloc.rsplit("@", 1)[-1]
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Host": host_header, "User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers},
            preload_content=False,  # read no more than the cap below
        )
        response = conn.getresponse()
        content = response.read(max_body, decode_content=False) if max_body > 0 else b""
        if expired.is_set():
            raise DeadlineExceeded(f"no complete answer within {deadline:g}s")
        return Response(
            status=response.status,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=content or b"",
            duration_ms=(time.monotonic() - started) * 1000,
            address=address,
        )
    except Exception as exc:  # OSError, urllib3 and http.client errors: the caller says transient
        if expired.is_set() and not isinstance(exc, DeadlineExceeded):
            raise DeadlineExceeded(f"no complete answer within {deadline:g}s") from exc
        raise
    finally:
        timer.cancel()
        conn.close()  # never drain the rest of a large body
