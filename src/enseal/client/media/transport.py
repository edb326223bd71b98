"""The interface every media transport offers, and its counters.

A :class:`MediaTransport` moves whole datagrams (media datagrams of
:mod:`enseal.media.datagram`, keyframe requests of :mod:`enseal.client.media.feedback`) between
the two devices of a call, unreliably and possibly out of order, over one :class:`PathKind`:
``DIRECT`` (UDP between the devices) or ``RELAY`` (the server's WSS media relay). Counters are
kept per path, so a test or the demo can show that a peer-to-peer call sent nothing through
the relay.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass
from typing import Final

MAX_RECEIVE_QUEUE: Final = 1_024
"""Datagrams a transport holds for a slow reader before it drops new ones (about 4 s of a call
at 250 datagrams per second)."""


class PathKind(enum.Enum):
    DIRECT = "direct"
    RELAY = "relay"


@dataclass(frozen=True, slots=True, kw_only=True)
class PathCounters:
    """Datagrams and bytes through one path, both ways (connectivity checks not included)."""

    datagrams_sent: int = 0
    bytes_sent: int = 0
    datagrams_received: int = 0
    bytes_received: int = 0
    datagrams_dropped: int = 0
    """Received datagrams dropped because the receive queue was full, or refused (wrong source,
    too large)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TransportStats:
    path: PathKind | None
    """The path media goes over now (None: not connected yet, or closed)."""
    direct: PathCounters
    relay: PathCounters
    path_switches: int = 0
    """Times the call moved from the direct path to the relay."""


class PathCounter:
    """The mutable counters behind a :class:`PathCounters`."""

    __slots__ = ("bytes_received", "bytes_sent", "datagrams_dropped", "datagrams_received", "datagrams_sent")

    def __init__(self) -> None:
        self.datagrams_sent = self.bytes_sent = 0
        self.datagrams_received = self.bytes_received = 0
        self.datagrams_dropped = 0

    def sent(self, size: int) -> None:
        self.datagrams_sent += 1
        self.bytes_sent += size

    def received(self, size: int) -> None:
        self.datagrams_received += 1
        self.bytes_received += size

    def snapshot(self) -> PathCounters:
        return PathCounters(
            datagrams_sent=self.datagrams_sent,
            bytes_sent=self.bytes_sent,
            datagrams_received=self.datagrams_received,
            bytes_received=self.bytes_received,
            datagrams_dropped=self.datagrams_dropped,
        )


class MediaTransport(abc.ABC):
    """Sends and receives datagrams of one call."""

    @abc.abstractmethod
    async def send(self, datagram: bytes) -> None:
        """Send one datagram (best effort: it may be lost)."""

    @abc.abstractmethod
    async def recv(self) -> bytes:
        """The next datagram that arrived; raises
        :class:`~enseal.client.media.errors.MediaPathError` when the path is gone and
        :class:`~enseal.client.media.errors.TransportClosed` after :meth:`close`."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the path (idempotent); pending :meth:`recv` calls raise TransportClosed."""

    @property
    @abc.abstractmethod
    def stats(self) -> TransportStats: ...
