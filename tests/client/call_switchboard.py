"""The server's part of 1:1 call signalling, in process, for tests of the client's call driver:
route each message to the other device of the call, stamp the sender, decide and stamp the
encryption (and its reasons), ring every device of the callee, tell the other devices when one
answers, and hand a standard call its media key. docs/media-path.md, section 1, is the flow.

Also: devices with real identity keys, profiles and pinned directories, and an in-memory relay
per call.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from enseal.client.call_driver import CallEnvironment
from enseal.client.call_signalling import CallSignalling, SignalEnvelope
from enseal.client.device import DeviceIdentity
from enseal.client.device_directory import DeviceDirectory
from enseal.client.errors import PolicyReason
from enseal.client.media import InMemoryRelay
from enseal.client.profile_store import ProfileStore
from enseal.crypto import cipher_suite, system_random
from enseal.signalling import (
    CallAccept,
    CallEncryption,
    CallEnd,
    CallInvite,
    CallMediaKey,
    CallMessage,
    CallRinging,
    EndReason,
)
from enseal.wire import UserAddress

Decide = Callable[[str, str, bool], tuple[CallEncryption, tuple[PolicyReason, ...]]]


def e2ee_when_both_capable(caller: str, callee: str, capable: bool) -> tuple[CallEncryption, tuple[PolicyReason, ...]]:
    if capable:
        return CallEncryption.END_TO_END, ()
    reason = PolicyReason(code="not_opted_in", message=f"{callee} has not turned on end-to-end encrypted calls")
    return CallEncryption.STANDARD, (reason,)


@dataclass
class Device:
    identity: DeviceIdentity
    directory: DeviceDirectory
    signalling: CallSignalling
    store: ProfileStore
    e2ee: bool = True

    @property
    def user(self) -> str:
        return self.identity.address


@dataclass
class _Call:
    caller: Device
    callee_devices: list[Device]
    encryption: CallEncryption
    answered_by: Device | None = None


@dataclass
class Switchboard:
    decide: Decide = e2ee_when_both_capable
    devices: list[Device] = field(default_factory=list)
    calls: dict[str, _Call] = field(default_factory=dict)
    relays: dict[str, InMemoryRelay] = field(default_factory=dict)

    def device(self, address: str, folder: Path, *, e2ee: bool = True) -> Device:
        suite = cipher_suite(1)
        identity = DeviceIdentity(
            user=UserAddress.parse(address),
            device_id=os.urandom(16).hex(),
            suite=suite,
            signing_key=suite.generate_signature_key(system_random),
            server_url="https://enseal.test",
            server_id="test",
            name="test device",
            supports_e2ee=e2ee,
        )
        store = ProfileStore.create(folder / f"{address}-{identity.device_id[:6]}", "test passphrase")
        device = Device(identity=identity, directory=DeviceDirectory(store), signalling=None, store=store, e2ee=e2ee)  # type: ignore[arg-type]
        device.signalling = CallSignalling(lambda message, d=device: self.route(d, message))
        self.devices.append(device)
        return device

    def environment(self, device: Device) -> CallEnvironment:
        async def capable() -> bool:
            return device.e2ee

        return CallEnvironment(
            identity=device.identity,
            directory=device.directory,
            signalling=device.signalling,
            rng=system_random,
            relay=lambda call_id: self.relay(call_id).connect,
            e2ee_capable=capable,
        )

    def relay(self, call_id: str) -> InMemoryRelay:
        return self.relays.setdefault(call_id, InMemoryRelay())

    def _deliver(
        self, to: Device, message: CallMessage, sender: Device | None, reasons: tuple[PolicyReason, ...] = ()
    ) -> None:
        to.signalling.deliver(
            SignalEnvelope(
                message=message,
                sender_user=None if sender is None else sender.user,
                sender_device=None if sender is None else sender.identity.device_id,
                reasons=reasons,
            )
        )

    async def route(self, sender: Device, message: CallMessage) -> None:
        await asyncio.sleep(0)  # delivery is never synchronous
        if isinstance(message, CallInvite):
            callees = [d for d in self.devices if d.user == message.callee]
            capable = message.e2ee_capable and all(d.e2ee for d in callees)
            encryption, reasons = self.decide(sender.user, message.callee, capable)
            self.calls[message.call_id] = _Call(caller=sender, callee_devices=callees, encryption=encryption)
            for callee in callees:
                forwarded = CallInvite(
                    call_id=message.call_id,
                    callee=message.callee,
                    media=message.media,
                    e2ee_capable=message.e2ee_capable,
                    call_secret=message.call_secret,
                    encryption=encryption,
                )
                self._deliver(callee, forwarded, sender, reasons)
            self._deliver(sender, CallRinging(call_id=message.call_id, encryption=encryption), None, reasons)
            return
        call = self.calls.get(message.call_id)
        if call is None:
            return
        if isinstance(message, CallAccept):
            if call.answered_by is not None:
                return
            call.answered_by = sender
            self._deliver(call.caller, message, sender)
            for other in call.callee_devices:
                if other is not sender:
                    self._deliver(other, CallEnd(call_id=message.call_id, reason=EndReason.ANSWERED_ELSEWHERE), None)
            if call.encryption is CallEncryption.STANDARD:
                key = os.urandom(16)
                for device in (call.caller, sender):
                    self._deliver(device, CallMediaKey(call_id=message.call_id, media_key=key), None)
            return
        if sender is call.caller:
            targets = [call.answered_by] if call.answered_by is not None else call.callee_devices
        else:
            targets = [call.caller]
        for target in targets:
            self._deliver(target, message, sender)
