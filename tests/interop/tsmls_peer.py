"""A ts-mls peer in a Node.js process, spoken to in JSON lines (see ``tsmls/peer.mjs``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PeerError(Exception):
    """ts-mls refused a request; the message carries its error."""


@dataclass(frozen=True)
class PeerState:
    epoch: int
    epoch_authenticator: bytes
    tree_hash: bytes
    own_leaf: int
    members: int

    @classmethod
    def of(cls, reply: dict[str, Any]) -> PeerState:
        return cls(
            epoch=reply["epoch"],
            epoch_authenticator=bytes.fromhex(reply["epoch_authenticator"]),
            tree_hash=bytes.fromhex(reply["tree_hash"]),
            own_leaf=reply["own_leaf"],
            members=reply["members"],
        )


class TsMlsPeer:
    """One ts-mls client with at most one group."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._process = process

    @classmethod
    def start(cls, script: Path, suite: int, *, conformant: bool = True) -> TsMlsPeer:
        """A peer for ``suite``; ``conformant=False`` keeps ts-mls's compressed ECDSA keys."""
        process = subprocess.Popen(
            ["node", str(script)], cwd=script.parent, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True,
        )
        peer = cls(process)
        peer.call("init", suite=suite, conformant=conformant)
        return peer

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps({"op": op, **args}) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            stderr = self._process.stderr.read() if self._process.stderr else ""
            raise PeerError(f"ts-mls peer exited during {op}: {stderr[-2000:]}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.pop("ok"):
            raise PeerError(f"ts-mls refused {op}: {reply['error']}")
        return reply

    # -- the operations, with bytes in and out -------------------------------------------------

    def key_package(self, identity: str) -> bytes:
        return bytes.fromhex(self.call("key_package", identity=identity)["key_package"])

    def create(self, group_id: bytes, identity: str) -> PeerState:
        return PeerState.of(self.call("create", group_id=group_id.hex(), identity=identity))

    def commit(self, *, add: Sequence[bytes] = (), remove: Sequence[int] = (),
               public_message: bool = True) -> tuple[bytes, bytes | None, PeerState]:
        """Commit (always with a path in ts-mls); the commit, the Welcome if anyone was added."""
        proposals = [{"type": "add", "key_package": kp.hex()} for kp in add]
        proposals += [{"type": "remove", "leaf": leaf} for leaf in remove]
        reply = self.call("commit", proposals=proposals, public_message=public_message)
        welcome = bytes.fromhex(reply["welcome"]) if "welcome" in reply else None
        return bytes.fromhex(reply["commit"]), welcome, PeerState.of(reply)

    def propose_remove(self, leaf: int) -> bytes:
        return bytes.fromhex(self.call("propose", proposal={"type": "remove", "leaf": leaf})["proposal"])

    def propose_add(self, key_package: bytes) -> bytes:
        reply = self.call("propose", proposal={"type": "add", "key_package": key_package.hex()})
        return bytes.fromhex(reply["proposal"])

    def join(self, welcome: bytes) -> PeerState:
        return PeerState.of(self.call("join", welcome=welcome.hex()))

    def branch(self, group_id: bytes, key_packages: Sequence[bytes], identity: str) -> tuple[bytes, bytes, PeerState]:
        """A subgroup (section 11.3) with this peer and ``key_packages``: the Welcome and the
        encoded ratchet tree (``optional<Node> ratchet_tree<V>``). The peer moves to it."""
        reply = self.call("branch", group_id=group_id.hex(), key_packages=[kp.hex() for kp in key_packages],
                          identity=identity)
        return bytes.fromhex(reply["welcome"]), bytes.fromhex(reply["ratchet_tree"]), PeerState.of(reply)

    def join_branch(self, welcome: bytes) -> PeerState:
        """Join a branch of the current group with the last KeyPackage made; the peer moves to it."""
        return PeerState.of(self.call("join_branch", welcome=welcome.hex()))

    def group_info(self) -> bytes:
        return bytes.fromhex(self.call("group_info")["group_info"])

    def join_external(self, group_info: bytes, identity: str) -> tuple[bytes, PeerState]:
        reply = self.call("join_external", group_info=group_info.hex(), identity=identity)
        return bytes.fromhex(reply["commit"]), PeerState.of(reply)

    def send(self, data: bytes) -> bytes:
        return bytes.fromhex(self.call("send", data=data.hex())["message"])

    def process(self, message: bytes) -> tuple[bytes | None, PeerState]:
        """Process a message; the application data if it was one."""
        reply = self.call("process", message=message.hex())
        data = bytes.fromhex(reply["data"]) if reply["kind"] == "application" else None
        return data, PeerState.of(reply)

    def export(self, label: str, context: bytes, length: int) -> bytes:
        return bytes.fromhex(self.call("export", label=label, context=context.hex(), length=length)["secret"])

    def state(self) -> PeerState:
        return PeerState.of(self.call("summary"))

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        for stream in (self._process.stdout, self._process.stderr):
            if stream is not None:
                stream.close()
