"""Every feature that needs the service to see media, with E2EE on and off, and the service
participants clients refuse keys to."""

from __future__ import annotations

import pytest

from enseal.policy import (
    SERVICE_ROLE_OF_FEATURE,
    Encryption,
    Feature,
    PolicyDenied,
    Reason,
    ServiceRole,
    decide_feature,
    decide_service_participant,
)

# Written out here, not read from the code: feature -> (reason code under E2EE, service role).
EXPECTED = {
    "recording": ("recording_needs_media", "recorder"),
    "live_captions": ("live_captions_need_media", "transcriber"),
    "transcription": ("transcription_needs_media", "transcriber"),
    "breakout_rooms": ("breakout_rooms_not_e2ee", None),
    "phone_dial_in": ("phone_dial_in_needs_media", "dial_in_gateway"),
    "call_transfer": ("call_transfer_under_e2ee", None),
    "call_park": ("call_park_needs_media", "call_park_service"),
    "call_merge": ("call_merge_needs_media", "conference_bridge"),
    "add_participant_to_call": ("add_participant_under_e2ee", None),
    "forward_to_voicemail": ("forward_to_voicemail_needs_media", "voicemail"),
}


def test_the_features_are_exactly_those_of_the_architecture() -> None:
    assert {feature.value for feature in Feature} == set(EXPECTED)
    assert set(SERVICE_ROLE_OF_FEATURE) == set(Feature)


@pytest.mark.parametrize("feature", list(Feature), ids=lambda f: f.value)
def test_feature_refused_under_e2ee_with_its_own_reason(feature: Feature) -> None:
    decision = decide_feature(feature, encryption=Encryption.END_TO_END)
    want_code, want_role = EXPECTED[feature.value]
    assert decision.allowed is False
    assert decision.feature is feature and decision.encryption is Encryption.END_TO_END
    assert [e.code for e in decision.reasons] == [want_code]
    assert decision.reasons[0].detail == feature.value
    assert (decision.service_role.value if decision.service_role else None) == want_role
    with pytest.raises(PolicyDenied) as raised:
        decision.require()
    assert raised.value.explanations == decision.reasons
    assert "end-to-end" in str(raised.value)


@pytest.mark.parametrize("feature", list(Feature), ids=lambda f: f.value)
def test_feature_allowed_without_e2ee(feature: Feature) -> None:
    decision = decide_feature(feature, encryption=Encryption.STANDARD)
    assert decision.allowed is True
    assert [e.reason for e in decision.reasons] == [Reason.FEATURE_ALLOWED_WITHOUT_E2EE]
    assert (decision.service_role.value if decision.service_role else None) == EXPECTED[feature.value][1]
    decision.require()


def test_each_feature_has_a_distinct_refusal() -> None:
    refusals = [decide_feature(f, encryption=Encryption.END_TO_END).reasons[0].reason for f in Feature]
    assert len(set(refusals)) == len(Feature)


@pytest.mark.parametrize("role", list(ServiceRole), ids=lambda r: r.value)
def test_service_participant_gets_no_keys_under_e2ee(role: ServiceRole) -> None:
    refused = decide_service_participant(role, encryption=Encryption.END_TO_END)
    assert refused.allowed is False
    assert [e.reason for e in refused.reasons] == [Reason.SERVICE_PARTICIPANT_UNDER_E2EE]
    assert refused.reasons[0].detail == f"service participant '{role.value}'"
    with pytest.raises(PolicyDenied):
        refused.require()
    visible = decide_service_participant(role, encryption=Encryption.STANDARD)
    assert visible.allowed is True
    assert [e.reason for e in visible.reasons] == [Reason.SERVICE_PARTICIPANT_VISIBLE]
    visible.require()


def test_every_service_role_serves_some_feature() -> None:
    assert {role for role in SERVICE_ROLE_OF_FEATURE.values() if role} == set(ServiceRole)
