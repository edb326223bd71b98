"""Reasons of enhanced-encryption policy decisions (ARCHITECTURE.md section 1, "Policy" and
"Features that need the service to see media are off under E2EE").

Every decision returns :class:`Explanation` values. Each names a :class:`Reason` (a stable
machine-readable code, the Enum's value, which the server may send to clients) with one fixed
English message, the :class:`Side` it is about (caller, callee, organiser ...), the user, and an
optional detail such as the policy name. docs/policy.md lists them all for admins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import MappingProxyType
from typing import Final


class Side(Enum):
    """Whose situation a reason describes."""

    CALLER = "caller"
    CALLEE = "callee"
    ORGANISER = "organiser"
    PARTICIPANT = "participant"
    USER = "user"


class Reason(Enum):
    """Why a decision came out as it did. The value is the stable code."""

    # -- where a user's effective policy came from ------------------------------------------
    POLICY_FROM_USER_ASSIGNMENT = "policy_from_user_assignment"
    POLICY_FROM_GROUP_ASSIGNMENT = "policy_from_group_assignment"
    POLICY_FROM_TENANT_ASSIGNMENT = "policy_from_tenant_assignment"
    POLICY_GLOBAL_DEFAULT = "policy_global_default"

    # -- E2EE unavailable to a user or device -----------------------------------------------
    TENANT_FORBIDS_E2EE = "tenant_forbids_e2ee"
    COMPLIANCE_RECORDING = "compliance_recording"
    DEVICE_WITHOUT_E2EE = "device_without_e2ee"

    # -- 1:1 calls -------------------------------------------------------------------------
    CALLS_POLICY_DISABLED = "calls_policy_disabled"
    CALLS_NOT_OPTED_IN = "calls_not_opted_in"
    CALL_E2EE_CONDITIONS_MET = "call_e2ee_conditions_met"
    CALLS_POLICY_USER_OVERRIDE = "calls_policy_user_override"

    # -- meetings --------------------------------------------------------------------------
    MEETINGS_POLICY_DISABLED = "meetings_policy_disabled"
    MEETINGS_POLICY_REQUIRED = "meetings_policy_required"
    ORGANISER_TURNED_E2EE_ON = "organiser_turned_e2ee_on"
    ORGANISER_LEFT_E2EE_OFF = "organiser_left_e2ee_off"
    MEETING_USES_STANDARD_ENCRYPTION = "meeting_uses_standard_encryption"
    JOIN_E2EE_CONDITIONS_MET = "join_e2ee_conditions_met"

    # -- service participants (recorder, transcriber, gateways) ------------------------------
    SERVICE_PARTICIPANT_UNDER_E2EE = "service_participant_under_e2ee"
    SERVICE_PARTICIPANT_VISIBLE = "service_participant_visible"

    # -- features that need the service to see media ----------------------------------------
    RECORDING_NEEDS_MEDIA = "recording_needs_media"
    LIVE_CAPTIONS_NEED_MEDIA = "live_captions_need_media"
    TRANSCRIPTION_NEEDS_MEDIA = "transcription_needs_media"
    BREAKOUT_ROOMS_NOT_E2EE = "breakout_rooms_not_e2ee"
    PHONE_DIAL_IN_NEEDS_MEDIA = "phone_dial_in_needs_media"
    CALL_TRANSFER_UNDER_E2EE = "call_transfer_under_e2ee"
    CALL_PARK_NEEDS_MEDIA = "call_park_needs_media"
    CALL_MERGE_NEEDS_MEDIA = "call_merge_needs_media"
    ADD_PARTICIPANT_UNDER_E2EE = "add_participant_under_e2ee"
    FORWARD_TO_VOICEMAIL_NEEDS_MEDIA = "forward_to_voicemail_needs_media"
    FEATURE_ALLOWED_WITHOUT_E2EE = "feature_allowed_without_e2ee"

    @property
    def message(self) -> str:
        """The human-readable statement of this reason, naming the rule it applies."""
        return REASON_MESSAGES[self]


REASON_MESSAGES: Final[Mapping[Reason, str]] = MappingProxyType(
    {
        Reason.POLICY_FROM_USER_ASSIGNMENT: (
            "the policy is assigned directly to the user (a user assignment beats group and tenant assignments)"
        ),
        Reason.POLICY_FROM_GROUP_ASSIGNMENT: (
            "the policy comes from the best-ranked (lowest rank number) of the user's groups that have an"
            " assignment; no policy is assigned to the user directly"
        ),
        Reason.POLICY_FROM_TENANT_ASSIGNMENT: (
            "the policy is assigned to the whole tenant; no user or group assignment applies"
        ),
        Reason.POLICY_GLOBAL_DEFAULT: (
            "nothing is assigned, so the built-in 'Global' policy applies (end-to-end encryption disabled"
            " for calls and meetings)"
        ),
        Reason.TENANT_FORBIDS_E2EE: "the tenant's setting forbids end-to-end encryption for all its users",
        Reason.COMPLIANCE_RECORDING: (
            "the user is under compliance recording, which makes end-to-end encryption unavailable"
        ),
        Reason.DEVICE_WITHOUT_E2EE: "the device in use does not support end-to-end encryption",
        Reason.CALLS_POLICY_DISABLED: "the user's enhanced-encryption policy sets calls to 'disabled'",
        Reason.CALLS_NOT_OPTED_IN: "the user has not turned on end-to-end encrypted calls in their settings",
        Reason.CALL_E2EE_CONDITIONS_MET: (
            "the tenant allows end-to-end encryption, both users' policies allow it for calls, both"
            " turned it on, both devices support it and neither is under compliance recording"
        ),
        Reason.CALLS_POLICY_USER_OVERRIDE: (
            "the user's enhanced-encryption policy sets calls to 'user_override', so the user may turn"
            " end-to-end encrypted calls on"
        ),
        Reason.MEETINGS_POLICY_DISABLED: "the organiser's enhanced-encryption policy sets meetings to 'disabled'",
        Reason.MEETINGS_POLICY_REQUIRED: (
            "the organiser's enhanced-encryption policy sets meetings to 'required', so every meeting"
            " they organise is end-to-end encrypted"
        ),
        Reason.ORGANISER_TURNED_E2EE_ON: (
            "the organiser turned end-to-end encryption on, as their policy ('user_override') allows"
        ),
        Reason.ORGANISER_LEFT_E2EE_OFF: "the organiser did not turn end-to-end encryption on for this meeting",
        Reason.MEETING_USES_STANDARD_ENCRYPTION: (
            "the meeting uses standard encryption, so no end-to-end encryption condition applies to joining"
        ),
        Reason.JOIN_E2EE_CONDITIONS_MET: (
            "the participant's tenant allows end-to-end encryption, the participant is not under"
            " compliance recording and their device supports end-to-end encryption"
        ),
        Reason.SERVICE_PARTICIPANT_UNDER_E2EE: (
            "a service participant would see the media, so while end-to-end encryption is on it is not"
            " admitted and clients give it no keys"
        ),
        Reason.SERVICE_PARTICIPANT_VISIBLE: (
            "without end-to-end encryption the service joins as a participant everyone can see"
        ),
        Reason.RECORDING_NEEDS_MEDIA: (
            "recording needs a recorder service that sees the media; it is off while end-to-end encryption is on"
        ),
        Reason.LIVE_CAPTIONS_NEED_MEDIA: (
            "live captions need a transcription service that hears the audio; they are off while"
            " end-to-end encryption is on"
        ),
        Reason.TRANSCRIPTION_NEEDS_MEDIA: (
            "transcription needs a transcription service that hears the audio; it is off while end-to-end"
            " encryption is on"
        ),
        Reason.BREAKOUT_ROOMS_NOT_E2EE: (
            "breakout rooms are not end-to-end encrypted yet, so an end-to-end encrypted meeting cannot open them"
        ),
        Reason.PHONE_DIAL_IN_NEEDS_MEDIA: (
            "phone dial-in needs a telephone gateway that decrypts the audio for the phone network; it is"
            " off while end-to-end encryption is on"
        ),
        Reason.CALL_TRANSFER_UNDER_E2EE: (
            "transferring moves the call to a party outside its end-to-end encrypted group; it is off"
            " while end-to-end encryption is on"
        ),
        Reason.CALL_PARK_NEEDS_MEDIA: (
            "call park needs the service to hold the caller's media until someone picks up; it is off"
            " while end-to-end encryption is on"
        ),
        Reason.CALL_MERGE_NEEDS_MEDIA: (
            "merging calls needs a conference bridge that mixes their media; it is off while end-to-end"
            " encryption is on"
        ),
        Reason.ADD_PARTICIPANT_UNDER_E2EE: (
            "an end-to-end encrypted 1:1 call cannot be escalated by adding a participant; start an"
            " end-to-end encrypted meeting instead"
        ),
        Reason.FORWARD_TO_VOICEMAIL_NEEDS_MEDIA: (
            "forwarding to voicemail hands the audio to the voicemail service; it is off while end-to-end"
            " encryption is on"
        ),
        Reason.FEATURE_ALLOWED_WITHOUT_E2EE: (
            "without end-to-end encryption the feature works; a service it needs joins as a visible participant"
        ),
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """One reason for a decision: what, about whom, and any detail (e.g. the policy name)."""

    reason: Reason
    side: Side | None = None
    user_id: str | None = None
    detail: str | None = None

    @property
    def code(self) -> str:
        """The stable machine-readable code of the reason."""
        return self.reason.value

    def describe(self) -> str:
        """One line for a person, e.g. ``callee bob: the user has not turned on ...``."""
        who = " ".join(part for part in (self.side.value if self.side else None, self.user_id) if part)
        text = f"{who}: {self.reason.message}" if who else self.reason.message
        return f"{text} ({self.detail})" if self.detail else text
