"""The addresses of this machine's network interfaces, for host candidates.

On Linux: each interface's IPv4 address (``SIOCGIFADDR``) and every IPv6 address of
``/proc/net/if_inet6``, loopback included. Link-local IPv6 addresses (``fe80::/10``) are left
out (they need a zone index a peer cannot use). Elsewhere, or if that finds nothing: the
loopback addresses and the address the default route would send from. The order is
interface order, loopback last, IPv4 before IPv6.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import struct
import sys
from pathlib import Path
from typing import Final

_SIOCGIFADDR: Final = 0x8915
_IF_INET6: Final = Path("/proc/net/if_inet6")
_PROBE_ADDRESS: Final = ("192.0.2.1", 9)
"""TEST-NET-1 (RFC 5737): connecting a UDP socket to it sends nothing but picks a source address."""


def _linux_ipv4() -> list[str]:
    import fcntl  # noqa: PLC0415 - POSIX only

    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:
                continue  # no IPv4 address on this interface
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def _linux_ipv6() -> list[str]:
    found = []
    with contextlib.suppress(OSError):
        for line in _IF_INET6.read_text().splitlines():
            fields = line.split()
            if not fields:
                continue
            address = ipaddress.IPv6Address(bytes.fromhex(fields[0]))
            if not address.is_link_local:
                found.append(str(address))
    return found


def _default_route_address() -> list[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(_PROBE_ADDRESS)
        except OSError:
            return []
        address: str = probe.getsockname()[0]
        return [address]


def interface_addresses() -> list[str]:
    """The IP addresses to gather host candidates on, ordinary ones first."""
    addresses: list[str] = []
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            addresses = _linux_ipv4() + _linux_ipv6()
    if not addresses:
        addresses = [*_default_route_address(), "127.0.0.1", "::1"]
    unique = list(dict.fromkeys(addresses))
    return sorted(unique, key=lambda a: (ipaddress.ip_address(a).is_loopback, ipaddress.ip_address(a).version))
