"""The connectivity-check datagram: request/response with a transaction id and a short MAC
(after the STUN binding checks of RFC 8445 section 7, with MESSAGE-INTEGRITY's purpose).

Checks travel on the same UDP flow as media, so the first byte tells them apart
(:data:`CHECK_MAGIC`; a media datagram of :mod:`enseal.media.datagram` starts with its version,
1). All integers are big-endian::

    offset  size  field
     0       1    magic = 0xC1
     1       1    type            1 = request, 2 = response
     2       1    flags           bit 0: nominate (requests only); bit 1: sent by the controlling
                                  agent; the other bits MUST be zero
     3      12    transaction id  random, chosen by the requester; a response echoes it
    15       1    family          4 or 6
    16     A+2    source          the sender's address (A = 4 or 16 bytes) and port
    ..     A+2    destination     where the sender sent it, same family
    ..      16    MAC             HMAC-SHA256(check key, label || all bytes before)[:16]

The MAC is keyed with the call's :class:`ConnectivityKey`, derived from a per-call secret that
only the call's parties (and the server that routes the signalling) hold, so a third party on
the network can neither answer a check nor nominate a path of its own. Source and destination
are under the MAC and must be exactly the addresses the datagram travelled between: a captured
check replayed from another address, or to another socket, does not verify. A response must
echo a transaction id the requester has outstanding, and the sender-role bit stops a request
reflected back at its sender from counting. Decision record:
docs/decisions/0602-connectivity-checks.md.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from dataclasses import dataclass
from typing import Final

from enseal.crypto import HashAlgorithm, Secret, constant_time_equal
from enseal.errors import LocalProtocolError
from enseal.signalling.candidates import Endpoint
from enseal.signalling.errors import CheckAuthenticationError, MalformedCheckError

CHECK_MAGIC: Final = 0xC1
"""First byte of every connectivity-check datagram."""

TRANSACTION_ID_SIZE: Final = 12
MAC_SIZE: Final = 16
"""Bytes of the truncated HMAC-SHA256: 128 bits, as much as a forger must guess."""

CALL_SECRET_SIZE: Final = 32
"""Bytes of the per-call secret the caller draws and sends in its invite."""

MAC_LABEL: Final = b"enseal connectivity check v1"
"""Domain label in front of the MAC'd bytes (and the HKDF salt of the key)."""

_FLAG_NOMINATE: Final = 0x01
_FLAG_CONTROLLING: Final = 0x02
_KNOWN_FLAGS: Final = _FLAG_NOMINATE | _FLAG_CONTROLLING
_PREFIX = struct.Struct(">BBB12sB")
_ADDRESS_SIZE: Final = {4: 4, 6: 16}
_HASH: Final = HashAlgorithm.SHA256


class CheckType(enum.IntEnum):
    REQUEST = 1
    RESPONSE = 2


class ConnectivityKey(Secret):
    """The MAC key of one call's connectivity checks."""

    __slots__ = ()

    @classmethod
    def derive(cls, call_secret: bytes, call_id: str) -> ConnectivityKey:
        """``HKDF-Expand(HKDF-Extract(MAC_LABEL, call_secret), call_id, 32)`` (RFC 5869)."""
        if len(call_secret) != CALL_SECRET_SIZE:
            raise LocalProtocolError(f"a call secret is {CALL_SECRET_SIZE} bytes, got {len(call_secret)}")
        prk = _HASH.extract(MAC_LABEL, call_secret)
        return cls(_HASH.expand(prk, call_id.encode(), _HASH.size))


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectivityCheck:
    """One check, request or response, and the addresses it travels between."""

    type: CheckType
    transaction_id: bytes
    from_controlling: bool
    nominate: bool
    source: Endpoint
    destination: Endpoint

    def __post_init__(self) -> None:
        if len(self.transaction_id) != TRANSACTION_ID_SIZE:
            raise LocalProtocolError(f"a transaction id is {TRANSACTION_ID_SIZE} bytes")
        if self.source.family != self.destination.family:
            raise LocalProtocolError("source and destination of a check must be of one address family")
        if self.nominate and self.type is not CheckType.REQUEST:
            raise LocalProtocolError("only a request nominates")


def is_check_datagram(data: bytes) -> bool:
    """Whether ``data`` is meant as a connectivity check (it may still be malformed)."""
    return len(data) > 0 and data[0] == CHECK_MAGIC


def _pack_endpoint(endpoint: Endpoint) -> bytes:
    return endpoint.ip.packed + endpoint.port.to_bytes(2, "big")


def _mac(key: ConnectivityKey, body: bytes) -> bytes:
    return _HASH.hmac(key.reveal(), MAC_LABEL + body)[:MAC_SIZE]


def seal_check(check: ConnectivityCheck, key: ConnectivityKey) -> bytes:
    """The datagram carrying ``check``, MAC'd under ``key``."""
    flags = (_FLAG_NOMINATE if check.nominate else 0) | (_FLAG_CONTROLLING if check.from_controlling else 0)
    body = (
        _PREFIX.pack(CHECK_MAGIC, check.type, flags, check.transaction_id, check.source.family)
        + _pack_endpoint(check.source)
        + _pack_endpoint(check.destination)
    )
    return body + _mac(key, body)


def _unpack_endpoint(data: bytes, offset: int, size: int) -> Endpoint:
    raw = data[offset : offset + size]
    port = int.from_bytes(data[offset + size : offset + size + 2], "big")
    address = ipaddress.IPv4Address(raw) if size == 4 else ipaddress.IPv6Address(raw)
    try:
        return Endpoint(address=str(address), port=port)
    except LocalProtocolError as exc:
        raise MalformedCheckError("connectivity check names an unusable address", str(exc)) from exc


def open_check(data: bytes, key: ConnectivityKey, *, received_on: Endpoint, source: Endpoint) -> ConnectivityCheck:
    """Decode the check ``data`` that arrived from ``source`` on the socket bound to
    ``received_on``, then verify its MAC and addresses.

    Raises :class:`MalformedCheckError` if it does not decode strictly and
    :class:`CheckAuthenticationError` if the MAC is wrong or the addresses inside are not the
    ones it travelled between.
    """
    if len(data) < _PREFIX.size:
        raise MalformedCheckError("connectivity check truncated", f"{len(data)} bytes")
    magic, type_, flags, transaction_id, family = _PREFIX.unpack_from(data)
    if magic != CHECK_MAGIC:
        raise MalformedCheckError("not a connectivity check", f"first byte {magic:#04x}")
    if type_ not in CheckType._value2member_map_:
        raise MalformedCheckError("unknown connectivity check type", str(type_))
    if flags & ~_KNOWN_FLAGS:
        raise MalformedCheckError("reserved check flag bits MUST be zero", f"flags {flags:#04x}")
    if family not in _ADDRESS_SIZE:
        raise MalformedCheckError("unknown address family", str(family))
    size = _ADDRESS_SIZE[family]
    expected = _PREFIX.size + 2 * (size + 2) + MAC_SIZE
    if len(data) != expected:
        raise MalformedCheckError("connectivity check has the wrong length", f"{len(data)} bytes, expected {expected}")
    nominate = bool(flags & _FLAG_NOMINATE)
    if nominate and type_ != CheckType.REQUEST:
        raise MalformedCheckError("only a request may carry the nominate flag")
    body, mac = data[:-MAC_SIZE], data[-MAC_SIZE:]
    # Verify before using any field (decode, then verify, then use).
    if not constant_time_equal(mac, _mac(key, body)):
        raise CheckAuthenticationError("connectivity check MAC does not verify")
    claimed_source = _unpack_endpoint(data, _PREFIX.size, size)
    claimed_destination = _unpack_endpoint(data, _PREFIX.size + size + 2, size)
    if claimed_source != source or claimed_destination != received_on:
        raise CheckAuthenticationError(
            "connectivity check was sent between other addresses than it names",
            f"names {claimed_source} -> {claimed_destination}, came {source} -> {received_on}",
        )
    return ConnectivityCheck(
        type=CheckType(type_),
        transaction_id=transaction_id,
        from_controlling=bool(flags & _FLAG_CONTROLLING),
        nominate=nominate,
        source=claimed_source,
        destination=claimed_destination,
    )
