"""Admin API in-process: bootstrap, operator and tenant-admin scopes, users, groups, enrollment
codes, error bodies and the audit log of every action (refusals included)."""

from __future__ import annotations

import pytest

from .actors import error_code, expect
from .conftest import Api

pytestmark = pytest.mark.anyio


async def test_bootstrap_token_is_one_time(api: Api) -> None:
    response = await api.client.post("/v1/admin/bootstrap", json={"token": api.bootstrap_token})
    assert error_code(response, 401) == "unauthenticated"
    assert response.headers["www-authenticate"] == "Bearer"
    assert (await api.admin("GET", "/v1/admin/whoami"))["kind"] == "operator"


async def test_requests_without_or_with_bad_credentials_get_401(api: Api) -> None:
    assert error_code(await api.client.get("/v1/tenants"), 401) == "unauthenticated"
    bad = {"Authorization": "Bearer esa_" + "x" * 43}
    assert error_code(await api.client.get("/v1/tenants", headers=bad), 401) == "unauthenticated"
    wrong_kind = {"Authorization": "Bearer est_" + "x" * 43}
    assert error_code(await api.client.get("/v1/tenants", headers=wrong_kind), 401) == "unauthenticated"


async def test_tenants_take_the_e2ee_default_of_their_kind(api: Api) -> None:
    await api.tenant("acme")
    await api.tenant("gov", kind="government")
    await api.tenant("gov2", kind="government", e2ee="allowed")
    tenants = {t["tenant"]: t for t in (await api.admin("GET", "/v1/tenants"))["tenants"]}
    assert tenants["acme"]["e2ee"] == "allowed"
    assert tenants["gov"]["e2ee"] == "forbidden" and tenants["gov"]["kind"] == "government"
    assert tenants["gov2"]["e2ee"] == "allowed"
    assert (
        error_code(
            await api.client.post("/v1/tenants", headers=api.operator, json={"tenant": "acme", "kind": "commercial"}),
            409,
        )
        == "already_exists"
    )
    updated = await api.admin("PATCH", "/v1/tenants/acme", json={"e2ee": "forbidden"})
    assert updated["e2ee"] == "forbidden"


async def test_invalid_input_is_a_422_with_fields(api: Api) -> None:
    response = await api.client.post("/v1/tenants", headers=api.operator, json={"tenant": "Not A Label", "kind": "x"})
    body = expect(response, 422)["error"]
    assert body["code"] == "invalid_request"
    assert {"body.tenant", "body.kind"} <= set(body["fields"])
    assert error_code(await api.client.get("/v1/tenants/UPPER", headers=api.operator), 422) == "invalid_request"
    assert (
        error_code(await api.client.post("/v1/tenants", headers=api.operator, content=b"{not json"), 422)
        == "invalid_request"
    )
    assert error_code(await api.client.get("/v1/nowhere"), 404) == "not_found"
    too_big = b"{" + b" " * (5 * 1024 * 1024) + b"}"

    async def chunked():  # no Content-Length: counted while read
        for _ in range(5):
            yield b" " * (1024 * 1024)

    streamed = await api.client.post("/v1/tenants", headers=api.operator, content=chunked())
    assert 400 <= streamed.status_code < 500 and streamed.json()["error"]["code"] in {"bad_request", "body_too_large"}
    assert (
        error_code(await api.client.post("/v1/tenants", headers=api.operator, content=too_big), 413) == "body_too_large"
    )


async def test_users_groups_and_enrollment_codes(api: Api) -> None:
    code = await api.user("alice@acme", tenant_admin=True)
    assert len(code.replace("-", "")) == 20
    await api.user("bob@acme", compliance_recording=True)
    users = {u["user"]: u for u in (await api.admin("GET", "/v1/tenants/acme/users"))["users"]}
    assert users["alice@acme"]["tenant_admin"] and not users["alice@acme"]["e2ee_calls_opted_in"]
    assert users["bob@acme"]["compliance_recording"]
    group = await api.admin("POST", "/v1/tenants/acme/groups", 201, json={"name": "eng"})
    assert group["members"] == []
    await api.admin("PUT", "/v1/tenants/acme/groups/eng/members/alice")
    group = await api.admin("PUT", "/v1/tenants/acme/groups/eng/members/bob")
    assert group["members"] == ["alice@acme", "bob@acme"]
    group = await api.admin("DELETE", "/v1/tenants/acme/groups/eng/members/alice")
    assert group["members"] == ["bob@acme"]
    assert (
        error_code(await api.client.put("/v1/tenants/acme/groups/eng/members/nobody", headers=api.operator), 404)
        == "not_found"
    )
    second = await api.admin("POST", "/v1/tenants/acme/users/bob/enrollment-codes", 201)
    assert second["enrollment_code"] != code and second["user"] == "bob@acme"
    updated = await api.admin("PATCH", "/v1/tenants/acme/users/bob", json={"compliance_recording": False})
    assert not updated["compliance_recording"]


async def test_tenant_admins_administer_only_their_tenant(api: Api) -> None:
    await api.user("alice@acme", tenant_admin=True)
    await api.user("bob@acme")
    await api.user("eve@globex")
    issued = await api.admin("POST", "/v1/admin/keys", 201, json={"user": "alice@acme", "label": "cli"})
    assert issued["role"] == "tenant_admin" and issued["tenant"] == "acme"
    alice = {"Authorization": f"Bearer {issued['api_key']}"}
    assert (await api.client.get("/v1/admin/whoami", headers=alice)).json()["user"] == "alice@acme"
    expect(await api.client.post("/v1/tenants/acme/users", headers=alice, json={"name": "carol"}), 201)
    assert (
        error_code(await api.client.post("/v1/tenants/globex/users", headers=alice, json={"name": "mallory"}), 403)
        == "forbidden"
    )
    assert error_code(await api.client.get("/v1/tenants/globex/users", headers=alice), 403) == "forbidden"
    assert (
        error_code(
            await api.client.post("/v1/tenants", headers=alice, json={"tenant": "new", "kind": "commercial"}), 403
        )
        == "forbidden"
    )
    assert [t["tenant"] for t in (await api.client.get("/v1/tenants", headers=alice)).json()["tenants"]] == ["acme"]
    assert (
        error_code(await api.client.post("/v1/admin/keys", headers=api.operator, json={"user": "bob@acme"}), 403)
        == "forbidden"
    )
    # Withdrawing the role disables the key at once.
    await api.admin("PATCH", "/v1/tenants/acme/users/alice", json={"tenant_admin": False})
    assert error_code(await api.client.get("/v1/tenants/acme/users", headers=alice), 401) == "unauthenticated"


async def test_every_admin_action_is_audited_with_its_result(api: Api) -> None:
    await api.user("alice@acme", tenant_admin=True)
    await api.client.post("/v1/tenants/acme/users", headers=api.operator, json={"name": "alice"})  # duplicate
    issued = await api.admin("POST", "/v1/admin/keys", 201, json={"user": "alice@acme"})
    alice = {"Authorization": f"Bearer {issued['api_key']}"}
    await api.client.post("/v1/tenants", headers=alice, json={"tenant": "evil", "kind": "commercial"})
    entries = (await api.admin("GET", "/v1/audit"))["entries"]
    summary = [(e["action"], e["result"], e["target"]) for e in reversed(entries)]
    assert summary == [
        ("server.init", "ok", None),
        ("admin.bootstrap", "ok", None),
        ("tenant.create", "ok", "acme"),
        ("user.create", "ok", "alice@acme"),
        ("user.create", "refused:already_exists", "alice@acme"),
        ("admin_key.create", "ok", "alice@acme"),
        ("tenant.create", "refused:forbidden", "evil"),
    ]
    assert entries[0]["actor"].startswith("tenant admin alice@acme")
    # Metadata only: no secret ever reaches the log.
    text = str(entries)
    assert issued["api_key"] not in text and api.bootstrap_token not in text
    # A tenant admin reads their tenant's entries only.
    own = (await api.client.get("/v1/audit", headers=alice)).json()["entries"]
    assert own and {e["tenant"] for e in own} == {"acme"}
    assert error_code(await api.client.get("/v1/audit?tenant=evil", headers=alice), 403) == "forbidden"
    page = await api.admin("GET", "/v1/audit?limit=2")
    older = await api.admin("GET", f"/v1/audit?limit=2&before={page['next_before']}")
    assert [e["id"] for e in older["entries"]] == [page["next_before"] - 1, page["next_before"] - 2]
