"""Reasons: every code has a message, codes are the stable API, docs/policy.md lists them all."""

from __future__ import annotations

import re
from pathlib import Path

from enseal.errors import RemoteProtocolError
from enseal.policy import REASON_MESSAGES, Explanation, PolicyDenied, Reason, Side

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_every_reason_has_a_message() -> None:
    assert set(REASON_MESSAGES) == set(Reason)
    for reason in Reason:
        assert reason.message == REASON_MESSAGES[reason]
        assert reason.message and reason.message[0].islower() and not reason.message.endswith(".")


def test_codes_are_snake_case_and_round_trip() -> None:
    for reason in Reason:
        assert re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", reason.value)
        assert Reason(reason.value) is reason


def test_docs_list_every_reason_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [reason.value for reason in Reason if f"`{reason.value}`" not in text]
    assert missing == []


def test_describe() -> None:
    assert Explanation(reason=Reason.DEVICE_WITHOUT_E2EE).describe() == Reason.DEVICE_WITHOUT_E2EE.message
    full = Explanation(reason=Reason.TENANT_FORBIDS_E2EE, side=Side.CALLEE, user_id="bob", detail="tenant 'gov'")
    assert full.describe() == f"callee bob: {Reason.TENANT_FORBIDS_E2EE.message} (tenant 'gov')"
    assert full.code == "tenant_forbids_e2ee"
    assert Explanation(reason=Reason.COMPLIANCE_RECORDING, side=Side.USER).describe().startswith("user: ")


def test_policy_denied_carries_the_explanations() -> None:
    explanations = (
        Explanation(reason=Reason.COMPLIANCE_RECORDING, side=Side.PARTICIPANT, user_id="pat"),
        Explanation(reason=Reason.DEVICE_WITHOUT_E2EE, side=Side.PARTICIPANT, user_id="pat"),
    )
    error = PolicyDenied(explanations)
    assert isinstance(error, RemoteProtocolError)
    assert error.explanations == explanations
    assert error.detail == "; ".join(e.describe() for e in explanations)
