"""Host candidates and candidate pairs for the direct media path (after RFC 8445, ICE).

Enseal gathers only *host* candidates (an address of one of the device's own interfaces and the
port of the UDP socket bound to it): no STUN server-reflexive and no TURN relayed candidates,
because the fallback when no host pair works is the server's WSS media relay
(docs/media-path.md). So two peers talk directly when they are on the same machine or the same
network (or a routed network without NAT between them).

* Candidate priority follows RFC 8445 section 5.1.2.1:
  ``priority = 2^24 * type_preference + 2^8 * local_preference + (256 - component_id)``, with
  the host type preference 126 and one component. Local preference orders the addresses of one
  device: ordinary addresses before loopback ones.
* Pair priority follows RFC 8445 section 6.1.2.3:
  ``2^32 * min(G, D) + 2 * max(G, D) + (1 if G > D else 0)``, G the controlling agent's
  candidate priority, D the controlled agent's.
* Pairs join candidates of one address family and one scope: a loopback candidate only with a
  loopback candidate (each is reachable only from its own machine), an ordinary address only
  with an ordinary address. Link-local IPv6 addresses are not gathered (they need a zone).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from enseal.errors import LocalProtocolError
from enseal.types import UINT32_MAX

MAX_CANDIDATES: Final = 16
"""Most candidates one side may offer (a device with many interfaces offers its first 16)."""

MAX_CANDIDATE_PAIRS: Final = 64
"""Most pairs one agent checks (the highest-priority ones)."""

HOST_TYPE_PREFERENCE: Final = 126
"""RFC 8445 section 5.1.2.2: "the RECOMMENDED values for type preferences are 126 for host
candidates"."""

COMPONENT_ID: Final = 1
"""Media and its checks share one UDP flow (RFC 8445 component 1, as with rtcp-mux)."""

_LOCAL_PREFERENCE_LOOPBACK: Final = 0
_LOCAL_PREFERENCE_BASE: Final = 65_535


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class Endpoint:
    """A UDP address: an IP address literal in canonical form and a port."""

    address: str
    port: int

    def __post_init__(self) -> None:
        try:
            canonical = str(ipaddress.ip_address(self.address))
        except ValueError as exc:
            raise LocalProtocolError(f"not an IP address literal: {self.address[:64]!r}") from exc
        if canonical != self.address:
            raise LocalProtocolError(f"IP address not in canonical form: {self.address!r} (use {canonical!r})")
        if not 1 <= self.port <= 65_535:
            raise LocalProtocolError(f"UDP port must be in [1, 65535], got {self.port}")

    @property
    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
        return ipaddress.ip_address(self.address)

    @property
    def family(self) -> int:
        """4 or 6."""
        return self.ip.version

    @property
    def loopback(self) -> bool:
        return self.ip.is_loopback

    def __str__(self) -> str:
        return f"[{self.address}]:{self.port}" if self.family == 6 else f"{self.address}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """A host candidate: where this device receives media, and how much it prefers it."""

    endpoint: Endpoint
    priority: int

    def __post_init__(self) -> None:
        if not 1 <= self.priority <= UINT32_MAX:
            raise LocalProtocolError(f"candidate priority must be in [1, 2^32 - 1], got {self.priority}")


def host_priority(local_preference: int) -> int:
    """RFC 8445 section 5.1.2.1 priority of a host candidate with ``local_preference`` (0-65535)."""
    if not 0 <= local_preference <= _LOCAL_PREFERENCE_BASE:
        raise LocalProtocolError(f"local preference must be in [0, 65535], got {local_preference}")
    return (HOST_TYPE_PREFERENCE << 24) + (local_preference << 8) + (256 - COMPONENT_ID)


def host_candidates(endpoints: Iterable[Endpoint]) -> tuple[Candidate, ...]:
    """Candidates for the bound ``endpoints`` (at most :data:`MAX_CANDIDATES`), in the order
    given, each ordinary address preferred to every loopback one."""
    chosen = list(endpoints)[:MAX_CANDIDATES]
    candidates = []
    for rank, endpoint in enumerate(chosen):
        preference = _LOCAL_PREFERENCE_LOOPBACK if endpoint.loopback else _LOCAL_PREFERENCE_BASE - rank
        candidates.append(Candidate(endpoint=endpoint, priority=host_priority(preference)))
    return tuple(candidates)


def pair_priority(controlling: int, controlled: int) -> int:
    """RFC 8445 section 6.1.2.3: ``2^32*MIN(G,D) + 2*MAX(G,D) + (G>D?1:0)``."""
    low, high = min(controlling, controlled), max(controlling, controlled)
    return (low << 32) + 2 * high + (1 if controlling > controlled else 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class CandidatePair:
    """A local candidate (the socket to send from) and a remote one (where to send)."""

    local: Candidate
    remote: Candidate
    priority: int

    def __str__(self) -> str:
        return f"{self.local.endpoint} -> {self.remote.endpoint}"


def can_pair(local: Endpoint, remote: Endpoint) -> bool:
    """Same address family and the same scope (loopback with loopback only)."""
    return local.family == remote.family and local.loopback == remote.loopback


def candidate_pairs(
    local: Sequence[Candidate], remote: Sequence[Candidate], *, controlling: bool
) -> tuple[CandidatePair, ...]:
    """The pairs to check, highest priority first, at most :data:`MAX_CANDIDATE_PAIRS`."""
    pairs = [
        CandidatePair(
            local=mine,
            remote=theirs,
            priority=pair_priority(mine.priority, theirs.priority)
            if controlling
            else pair_priority(theirs.priority, mine.priority),
        )
        for mine in local[:MAX_CANDIDATES]
        for theirs in remote[:MAX_CANDIDATES]
        if can_pair(mine.endpoint, theirs.endpoint)
    ]
    pairs.sort(key=lambda pair: (-pair.priority, pair.local.endpoint, pair.remote.endpoint))
    return tuple(pairs[:MAX_CANDIDATE_PAIRS])
