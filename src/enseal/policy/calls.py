"""Whether a 1:1 call is end-to-end encrypted (ARCHITECTURE.md section 1: "A 1:1 call is E2EE
only when the tenant allows it, both users' policies allow it, both users opted in, and both
devices support it"; compliance recording makes E2EE unavailable to a user).

Otherwise the call still goes ahead, with standard encryption, and the decision lists every
condition that failed on either side, not just the first (decision record 0202).
"""

from __future__ import annotations

from dataclasses import dataclass

from enseal.policy.decision import Encryption, Permission
from enseal.policy.model import CallsMode
from enseal.policy.party import Party, e2ee_unavailable
from enseal.policy.reasons import Explanation, Reason, Side


@dataclass(frozen=True, slots=True, kw_only=True)
class CallDecision:
    """The encryption of a 1:1 call. With ``STANDARD``, ``reasons`` lists every failed condition,
    caller's first; with ``END_TO_END`` it holds :attr:`Reason.CALL_E2EE_CONDITIONS_MET`."""

    encryption: Encryption
    reasons: tuple[Explanation, ...]

    @property
    def end_to_end(self) -> bool:
        return self.encryption is Encryption.END_TO_END


def _call_conditions_failed(party: Party, side: Side) -> list[Explanation]:
    """The conditions ``party`` fails, in order: unavailability, permission (policy), choice."""
    failed = e2ee_unavailable(party, side, device_matters=True)
    if party.policy.policy.calls is CallsMode.DISABLED:
        failed.append(party.explain(Reason.CALLS_POLICY_DISABLED, side, party.policy.provenance))
    if not party.e2ee_calls_opted_in:
        failed.append(party.explain(Reason.CALLS_NOT_OPTED_IN, side))
    return failed


def decide_call(*, caller: Party, callee: Party) -> CallDecision:
    """Decide the encryption of a 1:1 call between ``caller`` and ``callee`` on their devices.

    E2EE only if, for both: tenant allows E2EE, policy ``calls`` is ``user_override``, opted in,
    not under compliance recording, device supports E2EE.
    """
    failed = (*_call_conditions_failed(caller, Side.CALLER), *_call_conditions_failed(callee, Side.CALLEE))
    if failed:
        return CallDecision(encryption=Encryption.STANDARD, reasons=failed)
    return CallDecision(
        encryption=Encryption.END_TO_END, reasons=(Explanation(reason=Reason.CALL_E2EE_CONDITIONS_MET),)
    )


def decide_e2ee_call_setting(user: Party) -> Permission:
    """Whether the client offers ``user`` the setting "end-to-end encrypted calls".

    Offered when the tenant allows E2EE, the user is not under compliance recording and their
    policy's ``calls`` is ``user_override``. The device does not matter: the setting is the user's.
    """
    refused = e2ee_unavailable(user, Side.USER, device_matters=False)
    if user.policy.policy.calls is CallsMode.DISABLED:
        refused.append(user.explain(Reason.CALLS_POLICY_DISABLED, Side.USER, user.policy.provenance))
    if refused:
        return Permission(allowed=False, reasons=tuple(refused))
    return Permission(
        allowed=True,
        reasons=(user.explain(Reason.CALLS_POLICY_USER_OVERRIDE, Side.USER, user.policy.provenance),),
    )
