"""Shared fixtures. ``namespace_pair``: two Linux network namespaces that reach this host but not
each other, so the direct path of a call between them is really blocked while both still reach a
server on the host (used by tests/client/media and tests/e2e).

::

    namespace A  veth 10.201.<n>.2/30  <-->  host 10.201.<n>.1     (A's only route)
    namespace B  veth 10.201.<n+1>.2/30  <-->  host 10.201.<n+1>.1  (B's only route)

Neither namespace has a default route, so A cannot even address B (whatever the host's IP
forwarding says). Processes run inside with ``ip netns exec NAME ...`` (:meth:`Namespace.command`);
in-process tests bind sockets inside with :meth:`Namespace.bind_udp` (``setns`` in a short-lived
thread, so the test's own threads stay in the host namespace). Needs root, iproute2 and veth
support; :func:`namespace_pair` skips with the reason otherwise.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

import pytest

CLONE_NEWNET = 0x40000000


@dataclass(frozen=True)
class Namespace:
    name: str
    address: str
    """This namespace's address on its veth link."""
    host_address: str
    """The host's address on the same link (where a server listening on all addresses is reached)."""

    def command(self, *argv: str) -> list[str]:
        """``argv`` run inside this namespace."""
        return ["ip", "netns", "exec", self.name, *argv]

    def bind_udp(self, address: str) -> socket.socket:
        """A UDP socket bound to ``(address, 0)`` inside this namespace."""
        result: list[socket.socket | BaseException] = []

        def bind_inside() -> None:
            try:
                libc = ctypes.CDLL(None, use_errno=True)
                fd = os.open(f"/var/run/netns/{self.name}", os.O_RDONLY)
                try:
                    if libc.setns(fd, CLONE_NEWNET) != 0:
                        raise OSError(ctypes.get_errno(), "setns failed")
                finally:
                    os.close(fd)
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                sock = socket.socket(family, socket.SOCK_DGRAM)
                sock.bind((address, 0))
                sock.setblocking(False)
                result.append(sock)
            except BaseException as exc:  # handed to the calling thread
                result.append(exc)

        thread = threading.Thread(target=bind_inside)
        thread.start()
        thread.join()
        outcome = result[0]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True)


@pytest.fixture
def namespace_pair() -> Callable[..., AbstractContextManager[tuple[Namespace, Namespace]]]:
    """``with namespace_pair(subnet=201) as (a, b): ...`` (skips the test when namespaces are unavailable)."""
    return _namespace_pair


@contextmanager
def _namespace_pair(subnet: int = 201) -> Iterator[tuple[Namespace, Namespace]]:
    """Create the two namespaces (deleted afterwards), or skip the test with the reason."""
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    if shutil.which("ip") is None:
        pytest.skip("network namespaces need iproute2 (the ip command)")
    tag = f"{os.getpid() % 10_000}"
    created: list[str] = []
    spaces = []
    try:
        for index, side in enumerate(("a", "b")):
            name, host_if, inner_if = f"enseal-{side}-{tag}", f"es{side}{tag}h", f"es{side}{tag}n"
            third = (os.getpid() * 2 + index) % 250 + 1
            host_address, address = f"10.{subnet}.{third}.1", f"10.{subnet}.{third}.2"
            try:
                _run("ip", "netns", "add", name)
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"cannot create a network namespace: {exc.stderr.decode().strip()}")
            created.append(name)
            try:
                _run("ip", "link", "add", host_if, "type", "veth", "peer", "name", inner_if, "netns", name)
            except subprocess.CalledProcessError as exc:
                pytest.skip(f"cannot create a veth pair: {exc.stderr.decode().strip()}")
            _run("ip", "addr", "add", f"{host_address}/30", "dev", host_if)
            _run("ip", "link", "set", host_if, "up")
            _run("ip", "-n", name, "addr", "add", f"{address}/30", "dev", inner_if)
            _run("ip", "-n", name, "link", "set", inner_if, "up")
            _run("ip", "-n", name, "link", "set", "lo", "up")
            spaces.append(Namespace(name=name, address=address, host_address=host_address))
        yield spaces[0], spaces[1]
    finally:
        for name in created:
            subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)  # removes its veth
