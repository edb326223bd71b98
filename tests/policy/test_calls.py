"""1:1 call decisions over every combination of tenant kind x tenant E2EE setting x, for each side,
policy (calls, meetings) x opt-in x compliance recording x device support, against an oracle that
restates ARCHITECTURE.md section 1 directly."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from enseal.policy import (
    CallsMode,
    Encryption,
    MeetingsMode,
    Party,
    PolicyDenied,
    Reason,
    Side,
    TenantE2EE,
    TenantKind,
    decide_call,
    decide_e2ee_call_setting,
)

from .parties import make_party, make_tenant


@dataclass(frozen=True)
class SideConfig:
    calls: CallsMode
    meetings: MeetingsMode
    opted_in: bool
    compliance: bool
    device: bool


SIDE_CONFIGS = [
    SideConfig(calls, meetings, opted_in, compliance, device)
    for calls, meetings, opted_in, compliance, device in itertools.product(
        CallsMode, MeetingsMode, (False, True), (False, True), (False, True)
    )
]
TENANTS = list(itertools.product(TenantKind, TenantE2EE))


def oracle_call(
    tenant_setting: TenantE2EE, caller: SideConfig, callee: SideConfig
) -> tuple[Encryption, set[tuple[Reason, Side | None]]]:
    """E2EE only when the tenant allows it, both policies allow it (calls=user_override), both
    opted in, both devices support it and neither is under compliance recording; otherwise
    standard encryption, with one reason per failed condition per side."""
    failed: set[tuple[Reason, Side | None]] = set()
    for side, config in ((Side.CALLER, caller), (Side.CALLEE, callee)):
        if tenant_setting == TenantE2EE.FORBIDDEN:
            failed.add((Reason.TENANT_FORBIDS_E2EE, side))
        if config.calls == CallsMode.DISABLED:
            failed.add((Reason.CALLS_POLICY_DISABLED, side))
        if not config.opted_in:
            failed.add((Reason.CALLS_NOT_OPTED_IN, side))
        if config.compliance:
            failed.add((Reason.COMPLIANCE_RECORDING, side))
        if not config.device:
            failed.add((Reason.DEVICE_WITHOUT_E2EE, side))
    if failed:
        return Encryption.STANDARD, failed
    return Encryption.END_TO_END, {(Reason.CALL_E2EE_CONDITIONS_MET, None)}


def build(user_id: str, kind: TenantKind, setting: TenantE2EE, config: SideConfig) -> Party:
    return make_party(
        user_id,
        tenant=make_tenant(kind=kind, e2ee=setting),
        calls=config.calls,
        meetings=config.meetings,
        opted_in=config.opted_in,
        compliance=config.compliance,
        device=config.device,
    )


@pytest.mark.parametrize(("kind", "setting"), TENANTS, ids=lambda v: v.value)
def test_every_call_combination(kind: TenantKind, setting: TenantE2EE) -> None:
    callers = [build("alice", kind, setting, config) for config in SIDE_CONFIGS]
    callees = [build("bob", kind, setting, config) for config in SIDE_CONFIGS]
    checked = 0
    for (caller_config, caller), (callee_config, callee) in itertools.product(
        zip(SIDE_CONFIGS, callers, strict=True), zip(SIDE_CONFIGS, callees, strict=True)
    ):
        decision = decide_call(caller=caller, callee=callee)
        want_encryption, want_reasons = oracle_call(setting, caller_config, callee_config)
        got_reasons = {(e.reason, e.side) for e in decision.reasons}
        context = f"{kind}, {setting}, caller {caller_config}, callee {callee_config}"
        assert decision.encryption is want_encryption, context
        assert got_reasons == want_reasons, context
        assert len(decision.reasons) == len(got_reasons), f"duplicate reasons: {context}"
        assert decision.end_to_end == (want_encryption is Encryption.END_TO_END)
        for explanation in decision.reasons:
            want_user = {Side.CALLER: "alice", Side.CALLEE: "bob", None: None}[explanation.side]
            assert explanation.user_id == want_user, context
        sides = [e.side for e in decision.reasons]
        assert sides == sorted(sides, key=lambda s: s is Side.CALLEE), f"caller's reasons first: {context}"
        checked += 1
    assert checked == len(SIDE_CONFIGS) ** 2 == 48**2


def test_cross_tenant_call_names_the_forbidding_side() -> None:
    allowing = make_tenant(tenant_id="corp", kind=TenantKind.COMMERCIAL, e2ee=TenantE2EE.ALLOWED)
    forbidding = make_tenant(tenant_id="gov", kind=TenantKind.GOVERNMENT, e2ee=TenantE2EE.FORBIDDEN)
    decision = decide_call(caller=make_party("alice", tenant=allowing), callee=make_party("bob", tenant=forbidding))
    assert decision.encryption is Encryption.STANDARD
    assert [(e.reason, e.side, e.user_id) for e in decision.reasons] == [
        (Reason.TENANT_FORBIDS_E2EE, Side.CALLEE, "bob")
    ]
    assert decision.reasons[0].detail == "tenant 'gov'"


def test_labels_and_human_reasons() -> None:
    decision = decide_call(caller=make_party("alice"), callee=make_party("bob", opted_in=False))
    assert decision.encryption.label == "Standard encryption"
    assert [e.describe() for e in decision.reasons] == [
        "callee bob: the user has not turned on end-to-end encrypted calls in their settings"
    ]
    e2ee = decide_call(caller=make_party("alice"), callee=make_party("bob"))
    assert e2ee.encryption.label == "End-to-end encrypted"
    assert e2ee.reasons[0].describe().startswith("the tenant allows end-to-end encryption, both users'")


def test_policy_reason_names_the_policy_and_its_assignment() -> None:
    decision = decide_call(caller=make_party("alice", calls=CallsMode.DISABLED), callee=make_party("bob"))
    assert decision.reasons[0].detail == "policy 'P-alice' assigned to the user"
    assert decision.reasons[0].code == "calls_policy_disabled"


@pytest.mark.parametrize(("kind", "setting"), TENANTS, ids=lambda v: v.value)
def test_e2ee_call_setting_offered(kind: TenantKind, setting: TenantE2EE) -> None:
    """The "end-to-end encrypted calls" setting is offered when the tenant allows E2EE, the user
    is not under compliance recording and the policy's calls is user_override; the device and
    the current opt-in do not matter."""
    for config in SIDE_CONFIGS:
        permission = decide_e2ee_call_setting(build("carol", kind, setting, config))
        refused: set[tuple[Reason, Side | None]] = set()
        if setting == TenantE2EE.FORBIDDEN:
            refused.add((Reason.TENANT_FORBIDS_E2EE, Side.USER))
        if config.compliance:
            refused.add((Reason.COMPLIANCE_RECORDING, Side.USER))
        if config.calls == CallsMode.DISABLED:
            refused.add((Reason.CALLS_POLICY_DISABLED, Side.USER))
        want = refused or {(Reason.CALLS_POLICY_USER_OVERRIDE, Side.USER)}
        assert permission.allowed == (not refused), config
        assert {(e.reason, e.side) for e in permission.reasons} == want, config
        if refused:
            with pytest.raises(PolicyDenied) as raised:
                permission.require()
            assert raised.value.explanations == permission.reasons
        else:
            permission.require()
