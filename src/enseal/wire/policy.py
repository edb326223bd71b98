"""Enhanced-encryption policy bodies (docs/protocol.md, "Policy"): policies, assignments,
effective policies, the user's own E2EE-calls setting and decisions with their reasons."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from enseal.wire.common import Request, Response, UserAddressText, UserName
from enseal.wire.errors import PolicyReasonBody

CallsSetting = Literal["disabled", "user_override"]
MeetingsSetting = Literal["disabled", "user_override", "required"]
EncryptionText = Literal["end_to_end", "standard"]
FeatureText = Literal[
    "recording",
    "live_captions",
    "transcription",
    "breakout_rooms",
    "phone_dial_in",
    "call_transfer",
    "call_park",
    "call_merge",
    "add_participant_to_call",
    "forward_to_voicemail",
]
PolicyName = Annotated[
    str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9 ._-]*[A-Za-z0-9._-])?$")
]
Description = Annotated[str, StringConstraints(max_length=1024)]


class PolicyBody(Request):
    """A policy as created, replaced or shown."""

    name: PolicyName
    calls: CallsSetting
    meetings: MeetingsSetting
    description: Description = ""


class PolicyList(Response):
    policies: list[PolicyBody]


class TargetBody(Request):
    """Whom an assignment is for: a user (``name``), a group (``name``) or the tenant."""

    kind: Literal["user", "group", "tenant"]
    name: UserName | None = Field(default=None, description="user or group name; omitted for the tenant")


class AssignPolicyRequest(Request):
    target: TargetBody
    policy: PolicyName = Field(description="a policy of the tenant, or 'Global'")
    rank: Annotated[int, Field(ge=1, le=256)] | None = Field(default=None, description="group assignments only")


class AssignmentBody(Response):
    target: TargetBody
    policy: str
    rank: int | None


class AssignmentList(Response):
    assignments: list[AssignmentBody]


class UnassignRequest(Request):
    target: TargetBody


class EffectivePolicyBody(Response):
    user: str
    policy: PolicyBody
    source: Literal["user", "group", "tenant", "global_default"]
    provenance: str
    reasons: list[PolicyReasonBody]


class PermissionBody(Response):
    allowed: bool
    reasons: list[PolicyReasonBody]


class MySettings(Request):
    """The user's own settings."""

    e2ee_calls: bool = Field(description="'end-to-end encrypted calls' (off by default, as in Teams)")


class MyPolicy(Response):
    user: str
    effective_policy: EffectivePolicyBody
    e2ee_calls_setting: PermissionBody = Field(description="whether the client offers the E2EE-calls setting")
    e2ee_calls_opted_in: bool
    compliance_recording: bool
    tenant_e2ee: Literal["allowed", "forbidden"]


class CallDecisionRequest(Request):
    callee: UserAddressText
    callee_device_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")] | None = Field(
        default=None, description="the answering device; omitted: any active device of the callee that supports E2EE"
    )


class CallDecisionBody(Response):
    encryption: EncryptionText
    reasons: list[PolicyReasonBody]


class MeetingDecisionRequest(Request):
    e2ee_requested: bool


class MeetingDecisionBody(Response):
    encryption: EncryptionText
    e2ee_requested: bool
    request_refused: bool
    reasons: list[PolicyReasonBody]


class FeatureDecisionRequest(Request):
    feature: FeatureText
    encryption: EncryptionText


class FeatureDecisionBody(Response):
    feature: FeatureText
    encryption: EncryptionText
    allowed: bool
    service_role: str | None
    reasons: list[PolicyReasonBody]
