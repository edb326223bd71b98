"""A user on a device, as the policy decisions see them, and the conditions that make E2EE
unavailable to them (ARCHITECTURE.md section 1; decision record 0202).

E2EE is *unavailable* to a party when their tenant forbids it, when they are under compliance
recording ("Compliance recording for a user makes E2EE unavailable to that user"), or when their
device does not support it. Unavailability is distinct from *permission* (the user's policy) and
*choice* (the user's opt-in, the organiser's switch); each decision says which conditions it uses.
"""

from __future__ import annotations

from dataclasses import dataclass

from enseal.errors import LocalProtocolError
from enseal.policy.admin_input import validate_identifier
from enseal.policy.assignment import EffectivePolicy
from enseal.policy.model import Tenant
from enseal.policy.reasons import Explanation, Reason, Side


@dataclass(frozen=True, slots=True, kw_only=True)
class Party:
    """One user on one device.

    ``policy`` is the user's effective policy (from
    :func:`~enseal.policy.assignment.resolve_effective_policy`) in ``tenant``.
    ``e2ee_calls_opted_in`` is the user's own setting "end-to-end encrypted calls" (Teams' default:
    off). ``compliance_recording`` says a compliance-recording obligation applies to the user.
    ``device_supports_e2ee`` is the capability of the device taking part.
    """

    user_id: str
    tenant: Tenant
    policy: EffectivePolicy
    e2ee_calls_opted_in: bool
    compliance_recording: bool
    device_supports_e2ee: bool

    def __post_init__(self) -> None:
        validate_identifier("user_id", self.user_id)
        if self.policy.user_id != self.user_id or self.policy.tenant_id != self.tenant.tenant_id:
            raise LocalProtocolError(
                f"the effective policy of {self.policy.user_id!r} in tenant {self.policy.tenant_id!r}"
                f" was given for {self.user_id!r} in tenant {self.tenant.tenant_id!r}"
            )

    def explain(self, reason: Reason, side: Side, detail: str | None = None) -> Explanation:
        """An explanation about this party."""
        return Explanation(reason=reason, side=side, user_id=self.user_id, detail=detail)


def e2ee_unavailable(party: Party, side: Side, *, device_matters: bool) -> list[Explanation]:
    """Every condition that makes E2EE unavailable to ``party``, in a fixed order: tenant
    setting, compliance recording, then (if ``device_matters``) the device."""
    found: list[Explanation] = []
    if not party.tenant.allows_e2ee:
        found.append(party.explain(Reason.TENANT_FORBIDS_E2EE, side, f"tenant '{party.tenant.tenant_id}'"))
    if party.compliance_recording:
        found.append(party.explain(Reason.COMPLIANCE_RECORDING, side))
    if device_matters and not party.device_supports_e2ee:
        found.append(party.explain(Reason.DEVICE_WITHOUT_E2EE, side))
    return found
