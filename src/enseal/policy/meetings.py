"""Whether a meeting is end-to-end encrypted, and who may join one (ARCHITECTURE.md section 1:
"A meeting is E2EE when its organiser turns it on (or policy requires it)"; decision record 0202).

The organiser's policy ``meetings`` decides: ``disabled`` forbids E2EE, ``user_override`` lets the
organiser turn it on, ``required`` turns it on for every meeting they organise. The organiser's
tenant forbidding E2EE, or the organiser being under compliance recording, overrides even
``required``. A person may join an E2EE meeting only if E2EE is available to them: their tenant
allows it, they are not under compliance recording, their device supports it. Their own policy
does not matter for joining: it governs what they organise.
"""

from __future__ import annotations

from dataclasses import dataclass

from enseal.policy.decision import Encryption, Permission
from enseal.policy.errors import PolicyDenied
from enseal.policy.model import MeetingsMode
from enseal.policy.party import Party, e2ee_unavailable
from enseal.policy.reasons import Explanation, Reason, Side


@dataclass(frozen=True, slots=True, kw_only=True)
class MeetingDecision:
    """The encryption of a meeting, given whether its organiser asked for E2EE.

    With ``STANDARD``, ``reasons`` lists every failed condition; with ``END_TO_END`` it says
    whether the policy required it or the organiser turned it on.
    """

    encryption: Encryption
    e2ee_requested: bool
    reasons: tuple[Explanation, ...]

    @property
    def end_to_end(self) -> bool:
        return self.encryption is Encryption.END_TO_END

    @property
    def request_refused(self) -> bool:
        """The organiser asked for E2EE and cannot have it."""
        return self.e2ee_requested and not self.end_to_end

    def require_request_honoured(self) -> None:
        """Raise :class:`~enseal.policy.errors.PolicyDenied` if the organiser asked for E2EE and
        cannot have it. The server calls this rather than create the meeting without E2EE
        (decision record 0202: never downgrade what was asked for in silence)."""
        if self.request_refused:
            raise PolicyDenied(self.reasons)


def decide_meeting_encryption(*, organiser: Party, e2ee_requested: bool) -> MeetingDecision:
    """Decide the encryption of a meeting ``organiser`` creates, asking for E2EE or not.

    E2EE if the organiser's tenant allows E2EE, the organiser is not under compliance recording,
    and their policy's ``meetings`` is ``required``, or ``user_override`` with E2EE requested.
    The organiser's opt-in for calls and their device do not matter here.
    """
    mode = organiser.policy.policy.meetings
    provenance = organiser.policy.provenance
    failed = e2ee_unavailable(organiser, Side.ORGANISER, device_matters=False)
    if mode is MeetingsMode.DISABLED:
        failed.append(organiser.explain(Reason.MEETINGS_POLICY_DISABLED, Side.ORGANISER, provenance))
    if mode is not MeetingsMode.REQUIRED and not e2ee_requested:
        failed.append(organiser.explain(Reason.ORGANISER_LEFT_E2EE_OFF, Side.ORGANISER))
    if failed:
        return MeetingDecision(encryption=Encryption.STANDARD, e2ee_requested=e2ee_requested, reasons=tuple(failed))
    granted = (
        organiser.explain(Reason.MEETINGS_POLICY_REQUIRED, Side.ORGANISER, provenance)
        if mode is MeetingsMode.REQUIRED
        else organiser.explain(Reason.ORGANISER_TURNED_E2EE_ON, Side.ORGANISER, provenance)
    )
    return MeetingDecision(encryption=Encryption.END_TO_END, e2ee_requested=e2ee_requested, reasons=(granted,))


def decide_meeting_join(*, meeting: Encryption, participant: Party) -> Permission:
    """Whether ``participant`` (a person, on their device) may join a meeting encrypted as
    ``meeting``. Any person may join a standard meeting; an E2EE one needs E2EE available to
    them. (Service participants are decided by
    :func:`~enseal.policy.features.decide_service_participant`.)"""
    if meeting is Encryption.STANDARD:
        return Permission(
            allowed=True,
            reasons=(participant.explain(Reason.MEETING_USES_STANDARD_ENCRYPTION, Side.PARTICIPANT),),
        )
    failed = e2ee_unavailable(participant, Side.PARTICIPANT, device_matters=True)
    if failed:
        return Permission(allowed=False, reasons=tuple(failed))
    return Permission(allowed=True, reasons=(participant.explain(Reason.JOIN_E2EE_CONDITIONS_MET, Side.PARTICIPANT),))
