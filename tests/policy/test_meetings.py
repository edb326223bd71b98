"""Meeting decisions: the organiser's E2EE switch under every policy and tenant combination, and
who may join an E2EE meeting, each against an oracle written from the rules."""

from __future__ import annotations

import itertools

import pytest

from enseal.policy import (
    CallsMode,
    Encryption,
    MeetingsMode,
    PolicyDenied,
    Reason,
    Side,
    TenantE2EE,
    TenantKind,
    decide_meeting_encryption,
    decide_meeting_join,
)

from .parties import make_party, make_tenant

FLAGS = (False, True)
PARTY_COMBINATIONS = list(itertools.product(TenantKind, TenantE2EE, CallsMode, MeetingsMode, FLAGS, FLAGS, FLAGS))


def oracle_meeting(
    setting: TenantE2EE, meetings: MeetingsMode, compliance: bool, requested: bool
) -> tuple[Encryption, set[tuple[Reason, Side]]]:
    """E2EE when the organiser's tenant allows it, the organiser is not under compliance
    recording, and the policy requires it or allows it (user_override) and the organiser asked."""
    failed: set[tuple[Reason, Side]] = set()
    if setting == TenantE2EE.FORBIDDEN:
        failed.add((Reason.TENANT_FORBIDS_E2EE, Side.ORGANISER))
    if compliance:
        failed.add((Reason.COMPLIANCE_RECORDING, Side.ORGANISER))
    if meetings == MeetingsMode.DISABLED:
        failed.add((Reason.MEETINGS_POLICY_DISABLED, Side.ORGANISER))
    if meetings != MeetingsMode.REQUIRED and not requested:
        failed.add((Reason.ORGANISER_LEFT_E2EE_OFF, Side.ORGANISER))
    if failed:
        return Encryption.STANDARD, failed
    if meetings == MeetingsMode.REQUIRED:
        return Encryption.END_TO_END, {(Reason.MEETINGS_POLICY_REQUIRED, Side.ORGANISER)}
    return Encryption.END_TO_END, {(Reason.ORGANISER_TURNED_E2EE_ON, Side.ORGANISER)}


def test_every_organiser_combination() -> None:
    checked = 0
    for kind, setting, calls, meetings, opted_in, compliance, device in PARTY_COMBINATIONS:
        organiser = make_party(
            "olga",
            tenant=make_tenant(kind=kind, e2ee=setting),
            calls=calls,
            meetings=meetings,
            opted_in=opted_in,
            compliance=compliance,
            device=device,
        )
        for requested in FLAGS:
            decision = decide_meeting_encryption(organiser=organiser, e2ee_requested=requested)
            want_encryption, want_reasons = oracle_meeting(setting, meetings, compliance, requested)
            context = (
                f"{kind} {setting} {calls} {meetings} opt-in={opted_in} cr={compliance} dev={device} req={requested}"
            )
            assert decision.encryption is want_encryption, context
            assert {(e.reason, e.side) for e in decision.reasons} == want_reasons, context
            assert len(decision.reasons) == len(want_reasons), context
            assert all(e.user_id == "olga" for e in decision.reasons), context
            assert decision.e2ee_requested is requested
            refused = requested and want_encryption is Encryption.STANDARD
            assert decision.request_refused is refused, context
            if refused:
                with pytest.raises(PolicyDenied) as raised:
                    decision.require_request_honoured()
                assert raised.value.explanations == decision.reasons
            else:
                decision.require_request_honoured()
            checked += 1
    assert checked == 2 * 2 * 2 * 3 * 2 * 2 * 2 * 2


def test_required_is_on_without_asking_and_disabled_refuses_asking() -> None:
    required = decide_meeting_encryption(
        organiser=make_party("olga", meetings=MeetingsMode.REQUIRED), e2ee_requested=False
    )
    assert required.end_to_end
    assert required.reasons[0].detail == "policy 'P-olga' assigned to the user"
    disabled = decide_meeting_encryption(
        organiser=make_party("olga", meetings=MeetingsMode.DISABLED), e2ee_requested=True
    )
    assert not disabled.end_to_end and disabled.request_refused
    assert [e.reason for e in disabled.reasons] == [Reason.MEETINGS_POLICY_DISABLED]


def test_compliance_recording_overrides_required() -> None:
    decision = decide_meeting_encryption(
        organiser=make_party("olga", meetings=MeetingsMode.REQUIRED, compliance=True), e2ee_requested=False
    )
    assert decision.encryption is Encryption.STANDARD
    assert [e.reason for e in decision.reasons] == [Reason.COMPLIANCE_RECORDING]
    assert not decision.request_refused


def oracle_join(meeting: Encryption, setting: TenantE2EE, compliance: bool, device: bool) -> tuple[bool, set[Reason]]:
    """Anyone joins a standard meeting. An E2EE meeting needs E2EE available to the person: tenant
    allows it, no compliance recording, device supports it. Their policy and opt-in do not count."""
    if meeting is Encryption.STANDARD:
        return True, {Reason.MEETING_USES_STANDARD_ENCRYPTION}
    failed = set()
    if setting == TenantE2EE.FORBIDDEN:
        failed.add(Reason.TENANT_FORBIDS_E2EE)
    if compliance:
        failed.add(Reason.COMPLIANCE_RECORDING)
    if not device:
        failed.add(Reason.DEVICE_WITHOUT_E2EE)
    return (not failed), (failed or {Reason.JOIN_E2EE_CONDITIONS_MET})


@pytest.mark.parametrize("meeting", list(Encryption), ids=lambda e: e.value)
def test_every_join_combination(meeting: Encryption) -> None:
    for kind, setting, calls, meetings, opted_in, compliance, device in PARTY_COMBINATIONS:
        participant = make_party(
            "pat",
            tenant=make_tenant(kind=kind, e2ee=setting),
            calls=calls,
            meetings=meetings,
            opted_in=opted_in,
            compliance=compliance,
            device=device,
        )
        permission = decide_meeting_join(meeting=meeting, participant=participant)
        want_allowed, want_reasons = oracle_join(meeting, setting, compliance, device)
        context = f"{meeting} {kind} {setting} {calls} {meetings} {opted_in} {compliance} {device}"
        assert permission.allowed is want_allowed, context
        assert {e.reason for e in permission.reasons} == want_reasons, context
        assert len(permission.reasons) == len(want_reasons), context
        assert all(e.side is Side.PARTICIPANT and e.user_id == "pat" for e in permission.reasons), context
        if want_allowed:
            permission.require()
        else:
            with pytest.raises(PolicyDenied):
                permission.require()


def test_join_refusal_reads_well() -> None:
    permission = decide_meeting_join(
        meeting=Encryption.END_TO_END, participant=make_party("pat", compliance=True, device=False)
    )
    with pytest.raises(PolicyDenied) as raised:
        permission.require()
    assert raised.value.reason == "refused by enhanced-encryption policy"
    assert str(raised.value) == (
        "refused by enhanced-encryption policy: participant pat: the user is under compliance recording,"
        " which makes end-to-end encryption unavailable; participant pat: the device in use does not"
        " support end-to-end encryption"
    )
