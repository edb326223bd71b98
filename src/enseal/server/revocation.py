"""What follows a device's revocation beyond its own session (docs/protocol.md, "Groups and
delivery", "Calls"): the server proposes the device's removal from every MLS group it is in
(as the groups' external sender) and ends its calls."""

from __future__ import annotations

from enseal.server import calls, delivery
from enseal.server.state import ServerState


async def after_revocation(state: ServerState, device_id: str) -> None:
    await delivery.remove_device_everywhere(state, device_id)
    await calls.end_calls_of_device(state, device_id)
