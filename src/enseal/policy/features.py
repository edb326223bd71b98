"""Features that need the service to see media, and service participants (ARCHITECTURE.md
section 1: "Features that need the service to see media are off under E2EE ... The server refuses
them and the client refuses to hand keys to a service participant. Without E2EE they work: the
service joins as a visible participant"; decision record 0203).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final

from enseal.policy.decision import Encryption, Permission
from enseal.policy.reasons import Explanation, Reason


class Feature(Enum):
    """A feature that is refused while E2EE is on."""

    RECORDING = "recording"
    LIVE_CAPTIONS = "live_captions"
    TRANSCRIPTION = "transcription"
    BREAKOUT_ROOMS = "breakout_rooms"
    PHONE_DIAL_IN = "phone_dial_in"
    CALL_TRANSFER = "call_transfer"
    CALL_PARK = "call_park"
    CALL_MERGE = "call_merge"
    ADD_PARTICIPANT_TO_CALL = "add_participant_to_call"
    """Escalating a 1:1 call by adding a third person."""
    FORWARD_TO_VOICEMAIL = "forward_to_voicemail"

    @property
    def service_role(self) -> ServiceRole | None:
        """The service participant this feature brings into the call or meeting, which would see
        the media; None when the feature is refused for another reason."""
        return SERVICE_ROLE_OF_FEATURE[self]

    @property
    def refusal(self) -> Reason:
        """The reason this feature is refused under E2EE."""
        return _REFUSAL_OF_FEATURE[self]


class ServiceRole(Enum):
    """A participant run by the service that decrypts media. Clients never give one keys while
    E2EE is on."""

    RECORDER = "recorder"
    TRANSCRIBER = "transcriber"
    DIAL_IN_GATEWAY = "dial_in_gateway"
    CALL_PARK_SERVICE = "call_park_service"
    CONFERENCE_BRIDGE = "conference_bridge"
    VOICEMAIL = "voicemail"


SERVICE_ROLE_OF_FEATURE: Final[Mapping[Feature, ServiceRole | None]] = MappingProxyType(
    {
        Feature.RECORDING: ServiceRole.RECORDER,
        Feature.LIVE_CAPTIONS: ServiceRole.TRANSCRIBER,
        Feature.TRANSCRIPTION: ServiceRole.TRANSCRIBER,
        Feature.BREAKOUT_ROOMS: None,  # the rooms themselves are not E2EE yet
        Feature.PHONE_DIAL_IN: ServiceRole.DIAL_IN_GATEWAY,
        Feature.CALL_TRANSFER: None,  # the call would leave its E2EE group
        Feature.CALL_PARK: ServiceRole.CALL_PARK_SERVICE,
        Feature.CALL_MERGE: ServiceRole.CONFERENCE_BRIDGE,
        Feature.ADD_PARTICIPANT_TO_CALL: None,  # E2EE 1:1 calls are not escalated
        Feature.FORWARD_TO_VOICEMAIL: ServiceRole.VOICEMAIL,
    }
)
"""Which features need a service participant that would see media (None: refused for another reason)."""

_REFUSAL_OF_FEATURE: Final[Mapping[Feature, Reason]] = MappingProxyType(
    {
        Feature.RECORDING: Reason.RECORDING_NEEDS_MEDIA,
        Feature.LIVE_CAPTIONS: Reason.LIVE_CAPTIONS_NEED_MEDIA,
        Feature.TRANSCRIPTION: Reason.TRANSCRIPTION_NEEDS_MEDIA,
        Feature.BREAKOUT_ROOMS: Reason.BREAKOUT_ROOMS_NOT_E2EE,
        Feature.PHONE_DIAL_IN: Reason.PHONE_DIAL_IN_NEEDS_MEDIA,
        Feature.CALL_TRANSFER: Reason.CALL_TRANSFER_UNDER_E2EE,
        Feature.CALL_PARK: Reason.CALL_PARK_NEEDS_MEDIA,
        Feature.CALL_MERGE: Reason.CALL_MERGE_NEEDS_MEDIA,
        Feature.ADD_PARTICIPANT_TO_CALL: Reason.ADD_PARTICIPANT_UNDER_E2EE,
        Feature.FORWARD_TO_VOICEMAIL: Reason.FORWARD_TO_VOICEMAIL_NEEDS_MEDIA,
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureDecision(Permission):
    """Whether ``feature`` may be used in a call or meeting encrypted as ``encryption``;
    :meth:`require` is the server's check."""

    feature: Feature
    encryption: Encryption

    @property
    def service_role(self) -> ServiceRole | None:
        """The service participant the feature brings in (visible to all) when allowed."""
        return self.feature.service_role


def decide_feature(feature: Feature, *, encryption: Encryption) -> FeatureDecision:
    """Every feature is refused while E2EE is on, each with its own reason; allowed otherwise."""
    if encryption is Encryption.END_TO_END:
        return FeatureDecision(
            feature=feature,
            encryption=encryption,
            allowed=False,
            reasons=(Explanation(reason=feature.refusal, detail=feature.value),),
        )
    return FeatureDecision(
        feature=feature,
        encryption=encryption,
        allowed=True,
        reasons=(Explanation(reason=Reason.FEATURE_ALLOWED_WITHOUT_E2EE, detail=feature.value),),
    )


def decide_service_participant(role: ServiceRole, *, encryption: Encryption) -> Permission:
    """Whether a service participant in ``role`` may join (server) and be given the media keys
    (client). Refused while E2EE is on; without E2EE it joins as a visible participant."""
    detail = f"service participant '{role.value}'"
    if encryption is Encryption.END_TO_END:
        return Permission(
            allowed=False, reasons=(Explanation(reason=Reason.SERVICE_PARTICIPANT_UNDER_E2EE, detail=detail),)
        )
    return Permission(allowed=True, reasons=(Explanation(reason=Reason.SERVICE_PARTICIPANT_VISIBLE, detail=detail),))
