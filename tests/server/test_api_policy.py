"""Policy end to end in-process: an admin creates and assigns policies, users opt in, and the
effective policy and call / meeting / feature decisions come back with the expected reasons for
representative combinations of tenant kind x policy x opt-in x compliance x device (the full
matrix is enseal.policy's tests; this checks the API wiring)."""

from __future__ import annotations

from typing import Any

import pytest

from .actors import DeviceActor, error_code, expect
from .conftest import Api

pytestmark = pytest.mark.anyio

E2EE_CALLS = {"name": "E2EE calls", "calls": "user_override", "meetings": "user_override"}


async def _opt_in(api: Api, device: DeviceActor, on: bool = True) -> Any:
    return await api.client.put("/v1/me/settings", headers=device.headers, json={"e2ee_calls": on})


async def _call(api: Api, caller: DeviceActor, callee: str, **extra: Any) -> tuple[str, list[str]]:
    body = expect(
        await api.client.post("/v1/decisions/call", headers=caller.headers, json={"callee": callee, **extra}), 200
    )
    return body["encryption"], [r["code"] for r in body["reasons"]]


async def _allow_e2ee_calls(api: Api, tenant: str) -> None:
    """Assign a calls=user_override policy to the whole tenant (created if need be)."""
    if (await api.client.get(f"/v1/tenants/{tenant}", headers=api.operator)).status_code == 404:
        await api.tenant(tenant)
    await api.admin("POST", f"/v1/tenants/{tenant}/policies", 201, json=E2EE_CALLS)
    await api.admin(
        "PUT", f"/v1/tenants/{tenant}/policy-assignments", json={"target": {"kind": "tenant"}, "policy": "E2EE calls"}
    )


async def test_policy_admin_and_effective_policy(api: Api) -> None:
    await api.user("alice@acme")
    await api.user("bob@acme")
    await api.admin("POST", "/v1/tenants/acme/groups", 201, json={"name": "eng"})
    await api.admin("PUT", "/v1/tenants/acme/groups/eng/members/alice")
    effective = await api.admin("GET", "/v1/tenants/acme/users/alice/effective-policy")
    assert effective["source"] == "global_default" and effective["policy"]["calls"] == "disabled"

    await api.admin(
        "POST",
        "/v1/tenants/acme/policies",
        201,
        json={"name": "Strict", "calls": "user_override", "meetings": "required"},
    )
    await api.admin("POST", "/v1/tenants/acme/policies", 201, json=E2EE_CALLS)
    assert (
        error_code(
            await api.client.post(
                "/v1/tenants/acme/policies", headers=api.operator, json={**E2EE_CALLS, "name": "e2ee CALLS"}
            ),
            400,
        )
        == "policy_rule"
    )
    assert (
        error_code(
            await api.client.post(
                "/v1/tenants/acme/policies", headers=api.operator, json={**E2EE_CALLS, "name": "global"}
            ),
            400,
        )
        == "policy_rule"
    )
    await api.admin(
        "PUT", "/v1/tenants/acme/policy-assignments", json={"target": {"kind": "tenant"}, "policy": "E2EE calls"}
    )
    assignments = await api.admin(
        "PUT",
        "/v1/tenants/acme/policy-assignments",
        json={"target": {"kind": "group", "name": "eng"}, "policy": "Strict"},
    )
    assert {"target": {"kind": "group", "name": "eng"}, "policy": "Strict", "rank": 1} in assignments["assignments"]

    alice = await api.admin("GET", "/v1/tenants/acme/users/alice/effective-policy")
    assert (alice["source"], alice["policy"]["name"]) == ("group", "Strict")
    assert alice["reasons"][0]["code"] == "policy_from_group_assignment"
    assert "via group 'eng', rank 1" in alice["provenance"]
    bob = await api.admin("GET", "/v1/tenants/acme/users/bob/effective-policy")
    assert (bob["source"], bob["policy"]["name"]) == ("tenant", "E2EE calls")

    await api.admin(
        "PUT",
        "/v1/tenants/acme/policy-assignments",
        json={"target": {"kind": "user", "name": "alice"}, "policy": "Global"},
    )
    assert (await api.admin("GET", "/v1/tenants/acme/users/alice/effective-policy"))["source"] == "user"
    assert (
        error_code(await api.client.delete("/v1/tenants/acme/policies/Strict", headers=api.operator), 400)
        == "policy_rule"
    )
    await api.admin("DELETE", "/v1/tenants/acme/policy-assignments?kind=group&name=eng")
    await api.admin("DELETE", "/v1/tenants/acme/policies/Strict", 204)
    assert (
        error_code(await api.client.get("/v1/tenants/acme/policies/Strict", headers=api.operator), 404) == "not_found"
    )
    replaced = {**E2EE_CALLS, "meetings": "required"}
    assert (await api.admin("PUT", "/v1/tenants/acme/policies/E2EE calls", json=replaced))["meetings"] == "required"
    assert [p["name"] for p in (await api.admin("GET", "/v1/tenants/acme/policies"))["policies"]] == ["E2EE calls"]
    assert (
        error_code(
            await api.client.put(
                "/v1/tenants/acme/policy-assignments",
                headers=api.operator,
                json={"target": {"kind": "user", "name": "nobody"}, "policy": "Global"},
            ),
            404,
        )
        == "not_found"
    )
    actions = [e["action"] for e in (await api.admin("GET", "/v1/audit?tenant=acme"))["entries"]]
    assert {"policy.create", "policy.assign", "policy.unassign", "policy.delete", "policy.update"} <= set(actions)


async def test_opting_in_needs_a_policy_that_offers_it(api: Api) -> None:
    alice = await api.device("alice@acme")
    refused = await _opt_in(api, alice)
    assert error_code(refused, 403) == "policy_denied"
    assert [r["code"] for r in refused.json()["error"]["reasons"]] == ["calls_policy_disabled"]
    mine = expect(await api.client.get("/v1/me/policy", headers=alice.headers), 200)
    assert not mine["e2ee_calls_setting"]["allowed"] and not mine["e2ee_calls_opted_in"]
    await _allow_e2ee_calls(api, "acme")
    mine = expect(await _opt_in(api, alice), 200)
    assert mine["e2ee_calls_opted_in"] and mine["e2ee_calls_setting"]["allowed"]
    assert mine["effective_policy"]["policy"]["name"] == "E2EE calls"
    expect(await _opt_in(api, alice, on=False), 200)  # turning it off is always allowed
    actions = [(e["action"], e["result"]) for e in (await api.admin("GET", "/v1/audit?tenant=acme"))["entries"]]
    assert ("user.e2ee_calls.on", "refused:policy_denied") in actions and ("user.e2ee_calls.on", "ok") in actions


async def test_call_decisions_for_representative_combinations(api: Api) -> None:
    await _allow_e2ee_calls(api, "acme")
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    # Policy allows, nobody opted in yet.
    assert await _call(api, alice, "bob@acme") == ("standard", ["calls_not_opted_in", "calls_not_opted_in"])
    expect(await _opt_in(api, alice), 200)
    assert await _call(api, alice, "bob@acme") == ("standard", ["calls_not_opted_in"])
    expect(await _opt_in(api, bob), 200)
    # Every condition met.
    assert await _call(api, alice, "bob@acme") == ("end_to_end", ["call_e2ee_conditions_met"])
    assert await _call(api, bob, "alice@acme", callee_device_id=alice.device_id) == (
        "end_to_end",
        ["call_e2ee_conditions_met"],
    )
    # Compliance recording makes E2EE unavailable to that user.
    await api.admin("PATCH", "/v1/tenants/acme/users/bob", json={"compliance_recording": True})
    assert await _call(api, alice, "bob@acme") == ("standard", ["compliance_recording"])
    await api.admin("PATCH", "/v1/tenants/acme/users/bob", json={"compliance_recording": False})
    # A user whose policy disables calls (a user assignment beats the tenant's).
    await api.admin(
        "PUT",
        "/v1/tenants/acme/policy-assignments",
        json={"target": {"kind": "user", "name": "bob"}, "policy": "Global"},
    )
    encryption, reasons = await _call(api, alice, "bob@acme")
    assert (encryption, reasons) == ("standard", ["calls_policy_disabled"])
    await api.admin("DELETE", "/v1/tenants/acme/policy-assignments?kind=user&name=bob")
    # The tenant forbids E2EE: both sides fail, even with policies and opt-ins.
    await api.admin("PATCH", "/v1/tenants/acme", json={"e2ee": "forbidden"})
    assert await _call(api, alice, "bob@acme") == ("standard", ["tenant_forbids_e2ee", "tenant_forbids_e2ee"])
    await api.admin("PATCH", "/v1/tenants/acme", json={"e2ee": "allowed"})
    # A callee device without E2EE.
    code = await api.admin("POST", "/v1/tenants/acme/users/bob/enrollment-codes", 201)
    old_phone = await api.device("bob@acme", code=code["enrollment_code"], supports_e2ee=False)
    assert await _call(api, alice, "bob@acme", callee_device_id=old_phone.device_id) == (
        "standard",
        ["device_without_e2ee"],
    )
    assert await _call(api, alice, "bob@acme") == ("end_to_end", ["call_e2ee_conditions_met"])  # bob's other device can


async def test_government_tenant_forbids_e2ee_by_default(api: Api) -> None:
    await api.tenant("gov", kind="government")
    await _allow_e2ee_calls(api, "gov")
    await _allow_e2ee_calls(api, "acme")
    officer = await api.device("officer@gov")
    alice = await api.device("alice@acme")
    refused = await _opt_in(api, officer)
    assert [r["code"] for r in refused.json()["error"]["reasons"]] == ["tenant_forbids_e2ee"]
    expect(await _opt_in(api, alice), 200)
    encryption, reasons = await _call(api, alice, "officer@gov")
    assert encryption == "standard" and reasons == ["tenant_forbids_e2ee", "calls_not_opted_in"]
    body = expect(
        await api.client.post("/v1/decisions/call", headers=alice.headers, json={"callee": "officer@gov"}), 200
    )
    assert body["reasons"][0]["side"] == "callee" and body["reasons"][0]["user"] == "officer"


async def test_meeting_and_feature_decisions(api: Api) -> None:
    alice = await api.device("alice@acme")
    bob = await api.device("bob@acme")
    await api.admin(
        "POST", "/v1/tenants/acme/policies", 201, json={"name": "Required", "calls": "disabled", "meetings": "required"}
    )
    await api.admin(
        "PUT",
        "/v1/tenants/acme/policy-assignments",
        json={"target": {"kind": "user", "name": "alice"}, "policy": "Required"},
    )
    meeting = expect(
        await api.client.post("/v1/decisions/meeting", headers=alice.headers, json={"e2ee_requested": False}), 200
    )
    assert meeting["encryption"] == "end_to_end" and [r["code"] for r in meeting["reasons"]] == [
        "meetings_policy_required"
    ]
    refused = expect(
        await api.client.post("/v1/decisions/meeting", headers=bob.headers, json={"e2ee_requested": True}), 200
    )
    assert refused["encryption"] == "standard" and refused["request_refused"]
    assert [r["code"] for r in refused["reasons"]] == ["meetings_policy_disabled"]
    recording = expect(
        await api.client.post(
            "/v1/decisions/feature", headers=bob.headers, json={"feature": "recording", "encryption": "end_to_end"}
        ),
        200,
    )
    assert not recording["allowed"] and recording["reasons"][0]["code"] == "recording_needs_media"
    allowed = expect(
        await api.client.post(
            "/v1/decisions/feature", headers=bob.headers, json={"feature": "recording", "encryption": "standard"}
        ),
        200,
    )
    assert allowed["allowed"] and allowed["service_role"] == "recorder"
