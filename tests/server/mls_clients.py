"""Real MLS clients for the delivery service tests: a signed-in :class:`DeviceActor` with its
``enseal.mls`` Groups, talking to the server over any httpx client (in-process or real TLS)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from enseal.mls.credential import BasicCredential
from enseal.mls.extensions import ExternalSender, ExternalSenders, make_extension
from enseal.mls.framing import MLSMessage
from enseal.mls.group import ApplicationMessage, Group, StagedCommit
from enseal.mls.key_package_bundle import KeyPackageBundle
from enseal.mls.wire import serialize
from enseal.wire.binary import decode_b64url, encode_b64url

from .actors import DeviceActor, expect


def server_external_senders(server_info: dict[str, Any]) -> Any:
    sender = server_info["external_sender"]
    return make_extension(
        ExternalSenders(
            external_senders=(
                ExternalSender(
                    signature_key=decode_b64url(sender["signature_key"]),
                    credential=BasicCredential(identity=sender["identity"].encode()),
                ),
            )
        )
    )


def now_s() -> int:
    return int(time.time())


@dataclass
class MlsClient:
    """One device: its identity, its KeyPackage bundles and its groups (by hex group id)."""

    device: DeviceActor
    groups: dict[str, Group] = field(default_factory=dict)
    bundles: dict[bytes, KeyPackageBundle] = field(default_factory=dict)
    received: list[bytes] = field(default_factory=list)
    """Application plaintexts received, in order."""

    @property
    def credential(self) -> BasicCredential:
        return BasicCredential(identity=self.device.identity)

    @property
    def headers(self) -> dict[str, str]:
        return self.device.headers

    def new_key_package(self) -> bytes:
        bundle = KeyPackageBundle.create(
            self.device.suite, self.device.signing_key, self.credential, rng=self.device.rng, now=now_s()
        )
        self.bundles[bytes(bundle.ref)] = bundle
        return serialize(MLSMessage(body=bundle.key_package))

    def create_group(self, server_info: dict[str, Any], *, group_id: bytes | None = None) -> Group:
        group = Group.create(
            self.device.suite,
            group_id=group_id or self.device.rng(16),
            signer=self.device.signing_key,
            credential=self.credential,
            rng=self.device.rng,
            now=now_s(),
            extensions=[server_external_senders(server_info)],
        )
        self.groups[group.group_id.hex()] = group
        return group

    async def register_group(
        self, client: httpx.AsyncClient, group: Group, *, kind: str = "chat", users: list[str] | None = None
    ) -> dict[str, Any]:
        body = {"kind": kind, "group_info": encode_b64url(group.group_info(with_tree=True)), "users": users or []}
        return expect(await client.post("/v1/groups", json=body, headers=self.headers), 201)  # type: ignore[no-any-return]

    def commit_body(self, group: Group, **commit_args: Any) -> tuple[dict[str, Any], Any]:
        output = group.commit(rng=self.device.rng, now=now_s(), **commit_args)
        body: dict[str, Any] = {
            "message": encode_b64url(output.commit),
            "group_info": encode_b64url(output.group_info),
        }
        if output.welcome is not None:
            body["welcome"] = encode_b64url(output.welcome)
        return body, output

    async def post_commit(
        self, client: httpx.AsyncClient, group: Group, status: int = 201, **commit_args: Any
    ) -> dict[str, Any]:
        body, _ = self.commit_body(group, **commit_args)
        response = await client.post(f"/v1/groups/{group.group_id.hex()}/handshake", json=body, headers=self.headers)
        result = expect(response, status)
        if status in (200, 201):
            group.merge_pending_commit()
        else:
            group.discard_pending_commit()
        return result  # type: ignore[no-any-return]

    async def send(
        self, client: httpx.AsyncClient, group: Group, text: bytes, client_message_id: str, status: int = 201
    ) -> dict[str, Any]:
        message = group.encrypt_application(text, rng=self.device.rng)
        body = {"client_message_id": client_message_id, "message": encode_b64url(message)}
        response = await client.post(f"/v1/groups/{group.group_id.hex()}/messages", json=body, headers=self.headers)
        return expect(response, status)  # type: ignore[no-any-return]

    def take(self, entry_type: str, data: dict[str, Any]) -> None:
        """Apply one mailbox entry (as delivered over the WebSocket or the REST fallback)."""
        if entry_type == "group.welcome":
            welcome = decode_b64url(data["welcome"])
            for bundle in list(self.bundles.values()):
                try:
                    group = Group.join(welcome, bundle, now=now_s())
                except Exception:
                    continue
                self.groups[group.group_id.hex()] = group
                return
            raise AssertionError("no KeyPackage of ours opens the Welcome")
        group = self.groups[data["group_id"]]
        message = decode_b64url(data["message"])
        result = group.process(message, now=now_s())
        if isinstance(result, StagedCommit):
            group.merge(result)
        elif isinstance(result, ApplicationMessage):
            self.received.append(result.data)

    async def drain(self, client: httpx.AsyncClient) -> list[dict[str, Any]]:
        """Fetch, apply and acknowledge every mailbox entry over the REST fallback."""
        applied: list[dict[str, Any]] = []
        while True:
            page = expect(await client.get("/v1/mailbox", headers=self.headers), 200)
            for entry in page["entries"]:
                self.take(entry["type"], entry["data"])
                applied.append(entry)
            if page["entries"]:
                last = page["entries"][-1]["mailbox_seq"]
                expect(await client.post("/v1/mailbox/ack", json={"upto": last}, headers=self.headers), 200)
            if not page["more"]:
                return applied
