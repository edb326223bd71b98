"""1:1 call bodies (docs/protocol.md, "Calls"): the call as the server tracks it, feature
requests (recording ...), relay counters and recordings.

The signalling messages themselves (``call.invite`` ... ``call.end``) are the JSON objects of
``enseal.signalling.message_codec``; the server validates them with that codec, so this module
only names them (:data:`CallSignal`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Final, Literal

from pydantic import Field, StringConstraints

from enseal.wire.common import Request, Response
from enseal.wire.errors import PolicyReasonBody
from enseal.wire.policy import EncryptionText, FeatureText

CALL_ID_PATTERN: Final = r"^[A-Za-z0-9_-]{22,64}$"
"""As ``enseal.signalling.messages.CALL_ID_PATTERN``."""

CallIdText = Annotated[str, StringConstraints(pattern=CALL_ID_PATTERN, max_length=64)]
CallSignal = dict[str, Any]
"""A signalling message as ``enseal.signalling.message_to_json`` writes it."""
CallStateText = Literal["idle", "outgoing ringing", "incoming ringing", "connecting", "active", "ended"]
RecordingFormat = Literal["frames", "wav"]


class CallBody(Response):
    call_id: str
    state: CallStateText
    encryption: EncryptionText = Field(description="decided by the server from policy when the call was placed")
    reasons: list[PolicyReasonBody] = Field(description="why the call has this encryption (enseal.policy reasons)")
    caller: str
    caller_device_id: str
    callee: str
    ringing_device_ids: list[str] = Field(description="the callee's devices that were rung")
    answered_device_id: str | None = None
    end_reason: str | None = Field(default=None, description="an enseal.signalling.EndReason value once ended")
    recording: bool = Field(description="a recorder (service participant) is in the call")
    recording_id: str | None = None
    created_at: datetime
    ring_deadline: datetime | None = None


class CallFeatureRequest(Request):
    feature: FeatureText


class CallFeatureResult(Response):
    call_id: str
    feature: FeatureText
    encryption: EncryptionText
    allowed: bool
    service_role: str | None
    reasons: list[PolicyReasonBody]
    recording_id: str | None = None


class RelaySideStats(Response):
    datagrams_in: int = Field(description="datagrams received from this side's device")
    bytes_in: int
    datagrams_out: int = Field(description="datagrams delivered to this side's device")
    bytes_out: int
    datagrams_dropped: int = Field(description="datagrams for this side dropped (queue full, no connection)")
    connections: int = Field(description="relay connections this side opened")


class RelayStatsBody(Response):
    call_id: str
    node: str = Field(description="the server node these counters are from (each node counts what it carried)")
    caller: RelaySideStats
    callee: RelaySideStats


class RecordingBody(Response):
    recording_id: str
    call_id: str
    state: Literal["recording", "complete"]
    started_at: datetime
    ended_at: datetime | None
    frames: int
    bytes: int = Field(description="bytes of decrypted encoded frames stored (sealed at rest)")


class RecordingList(Response):
    recordings: list[RecordingBody]
