"""``enseal admin ...``: tenants, users, groups, policies and the audit log, over HTTPS to a
running server with its private CA (decision record 0505; docs/server.md, "Administration").

Credentials live in an admin profile directory (``--profile``, ``ENSEAL_ADMIN_PROFILE``, default
``~/.config/enseal/admin``): ``admin.json`` (mode 0600) holds the server URL, the CA file and the
admin key. Every command works without a terminal; ``--json`` prints the server's JSON.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

admin_app = typer.Typer(help="Administer tenants, users, groups and policies.", no_args_is_help=True)
tenant_app = typer.Typer(help="Tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Users and their devices.", no_args_is_help=True)
group_app = typer.Typer(help="Groups of users.", no_args_is_help=True)
policy_app = typer.Typer(help="Enhanced-encryption policies.", no_args_is_help=True)
key_app = typer.Typer(help="Admin keys.", no_args_is_help=True)
admin_app.add_typer(tenant_app, name="tenant")
admin_app.add_typer(user_app, name="user")
admin_app.add_typer(group_app, name="group")
admin_app.add_typer(policy_app, name="policy")
admin_app.add_typer(key_app, name="key")

PROFILE_FILE = "admin.json"
REQUEST_TIMEOUT = 30.0


@dataclass(slots=True)
class _Options:
    profile: Path
    as_json: bool


def _default_profile() -> Path:
    configured = os.environ.get("ENSEAL_ADMIN_PROFILE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "enseal" / "admin"


@admin_app.callback()
def admin_main(
    ctx: typer.Context,
    profile: Annotated[
        Path | None, typer.Option(help="admin profile directory [env ENSEAL_ADMIN_PROFILE]", resolve_path=True)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the server's JSON")] = False,
) -> None:
    """Administer an Enseal server over HTTPS."""
    ctx.obj = _Options(profile=profile or _default_profile(), as_json=as_json)


def _fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def _save_profile(options: _Options, *, server: str, ca: Path, api_key: str) -> None:
    options.profile.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = options.profile / PROFILE_FILE
    text = json.dumps({"server": server.rstrip("/"), "ca": str(ca.resolve()), "api_key": api_key}, indent=2)
    descriptor = os.open(path.with_suffix(".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text + "\n")
    path.with_suffix(".tmp").replace(path)


class _Session:
    def __init__(self, server: str, ca: Path, api_key: str | None) -> None:
        import httpx

        from enseal.server.tls import client_ssl_context

        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        try:
            context = client_ssl_context(ca)
        except OSError as exc:
            _fail(f"cannot read the CA certificate {ca}: {exc.strerror}")
        self._client = httpx.Client(base_url=server, verify=context, headers=headers, timeout=REQUEST_TIMEOUT)

    @classmethod
    def from_profile(cls, options: _Options) -> _Session:
        path = options.profile / PROFILE_FILE
        try:
            profile = json.loads(path.read_text())
            return cls(profile["server"], Path(profile["ca"]), profile["api_key"])
        except (OSError, ValueError, KeyError):
            _fail(f"no admin profile in {options.profile}; run 'enseal admin bootstrap' or 'enseal admin login'")

    def call(
        self, method: str, path: str, body: dict[str, Any] | None = None, params: dict[str, Any] | None = None
    ) -> Any:
        import httpx

        try:
            response = self._client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            _fail(f"cannot reach the server: {exc}", code=2)
        if response.status_code >= 400:
            try:
                error = response.json()["error"]
                detail = f" ({error['detail']})" if error.get("detail") else ""
                reasons = "".join(f"\n  - {r['message']}" for r in error.get("reasons", []))
                _fail(f"{error['code']}: {error['reason']}{detail}{reasons}")
            except (ValueError, KeyError, TypeError):
                _fail(f"HTTP {response.status_code}: {response.text[:300]}")
        return None if response.status_code == 204 else response.json()


def _show(options: _Options, result: Any, text: str) -> None:
    typer.echo(json.dumps(result, indent=2) if options.as_json else text)


def _split(address: str, what: str) -> tuple[str, str]:
    name, at, tenant = address.partition("@")
    if not at or not name or not tenant:
        _fail(f"a {what} is written NAME@TENANT, got {address!r}")
    return name, tenant


def _secret_from(value: str | None, env: str, prompt: str) -> str:
    if value:
        return value
    if os.environ.get(env):
        return os.environ[env]
    import sys

    if not sys.stdin.isatty():
        _fail(f"give {prompt.lower()} as an option or in ${env}")
    return str(typer.prompt(prompt, hide_input=True))


# -- credentials ---------------------------------------------------------------------------------------

ServerOption = Annotated[str, typer.Option("--server", help="https://host:port of the server")]
CaOption = Annotated[Path, typer.Option("--ca", help="the server's CA certificate (ca.pem)", exists=True)]


@admin_app.command("bootstrap")
def bootstrap(
    ctx: typer.Context,
    server: ServerOption,
    ca: CaOption,
    token: Annotated[str | None, typer.Option(help="the token from 'server init' [env ENSEAL_BOOTSTRAP_TOKEN]")] = None,
) -> None:
    """Trade the one-time bootstrap token for an operator key and save it in the profile."""
    options: _Options = ctx.obj
    secret = _secret_from(token, "ENSEAL_BOOTSTRAP_TOKEN", "Bootstrap token")
    issued = _Session(server, ca, None).call("POST", "/v1/admin/bootstrap", {"token": secret})
    _save_profile(options, server=server, ca=ca, api_key=issued["api_key"])
    _show(
        options,
        {k: v for k, v in issued.items() if k != "api_key"},
        f"Operator key {issued['key_id']} saved in {options.profile}",
    )


@admin_app.command("login")
def login(
    ctx: typer.Context,
    server: ServerOption,
    ca: CaOption,
    key: Annotated[str | None, typer.Option(help="an admin key (esa_...) [env ENSEAL_ADMIN_KEY]")] = None,
) -> None:
    """Save an admin key (e.g. a tenant admin's) in the profile after checking it."""
    options: _Options = ctx.obj
    secret = _secret_from(key, "ENSEAL_ADMIN_KEY", "Admin key")
    who = _Session(server, ca, secret).call("GET", "/v1/admin/whoami")
    _save_profile(options, server=server, ca=ca, api_key=secret)
    _show(options, who, f"Signed in as {who['kind']} {who.get('user') or ''}".rstrip())


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="a tenant admin, NAME@TENANT")],
    label: Annotated[str, typer.Option(help="what the key is for")] = "",
) -> None:
    """Issue an admin key to a tenant admin (printed once)."""
    options: _Options = ctx.obj
    issued = _Session.from_profile(options).call("POST", "/v1/admin/keys", {"user": user, "label": label})
    _show(options, issued, f"Admin key for {issued['user']} (shown once): {issued['api_key']}")


# -- tenants ---------------------------------------------------------------------------------------------


def _tenant_line(tenant: dict[str, Any]) -> str:
    return f"{tenant['tenant']}  kind={tenant['kind']}  e2ee={tenant['e2ee']}"


@tenant_app.command("create")
def tenant_create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument(help="tenant id, e.g. acme")],
    kind: Annotated[str, typer.Option(help="commercial or government")] = "commercial",
    e2ee: Annotated[str | None, typer.Option(help="allowed or forbidden (default: by kind)")] = None,
) -> None:
    """Create a tenant (operator only)."""
    options: _Options = ctx.obj
    body: dict[str, Any] = {"tenant": tenant, "kind": kind}
    if e2ee is not None:
        body["e2ee"] = e2ee
    created = _Session.from_profile(options).call("POST", "/v1/tenants", body)
    _show(options, created, f"Created tenant {_tenant_line(created)}")


@tenant_app.command("list")
def tenant_list(ctx: typer.Context) -> None:
    options: _Options = ctx.obj
    result = _Session.from_profile(options).call("GET", "/v1/tenants")
    _show(options, result, "\n".join(_tenant_line(t) for t in result["tenants"]) or "(no tenants)")


@tenant_app.command("set-e2ee")
def tenant_set_e2ee(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument()],
    e2ee: Annotated[str, typer.Argument(help="allowed or forbidden")],
) -> None:
    """Allow or forbid end-to-end encryption for the whole tenant."""
    options: _Options = ctx.obj
    result = _Session.from_profile(options).call("PATCH", f"/v1/tenants/{tenant}", {"e2ee": e2ee})
    _show(options, result, _tenant_line(result))


# -- users -----------------------------------------------------------------------------------------------


def _user_line(user: dict[str, Any]) -> str:
    flags = [name for name in ("tenant_admin", "compliance_recording", "e2ee_calls_opted_in") if user[name]]
    return f"{user['user']}  {' '.join(flags)}".rstrip()


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="NAME@TENANT")],
    tenant_admin: Annotated[bool, typer.Option("--tenant-admin", help="give the tenant-admin role")] = False,
    compliance_recording: Annotated[bool, typer.Option("--compliance-recording")] = False,
) -> None:
    """Create a user and print their one-time enrollment code."""
    options: _Options = ctx.obj
    name, tenant = _split(user, "user")
    result = _Session.from_profile(options).call(
        "POST",
        f"/v1/tenants/{tenant}/users",
        {"name": name, "tenant_admin": tenant_admin, "compliance_recording": compliance_recording},
    )
    enrollment = result["enrollment"]
    _show(
        options,
        result,
        f"Created {_user_line(result['user'])}\n"
        f"Enrollment code (one device, until {enrollment['expires_at']}): {enrollment['enrollment_code']}",
    )


@user_app.command("list")
def user_list(ctx: typer.Context, tenant: Annotated[str, typer.Argument()]) -> None:
    options: _Options = ctx.obj
    result = _Session.from_profile(options).call("GET", f"/v1/tenants/{tenant}/users")
    _show(options, result, "\n".join(_user_line(u) for u in result["users"]) or "(no users)")


@user_app.command("set")
def user_set(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="NAME@TENANT")],
    tenant_admin: Annotated[bool | None, typer.Option("--tenant-admin/--no-tenant-admin")] = None,
    compliance_recording: Annotated[
        bool | None, typer.Option("--compliance-recording/--no-compliance-recording")
    ] = None,
) -> None:
    """Change a user's role or compliance recording."""
    options: _Options = ctx.obj
    name, tenant = _split(user, "user")
    body = {
        key: value
        for key, value in (("tenant_admin", tenant_admin), ("compliance_recording", compliance_recording))
        if value is not None
    }
    result = _Session.from_profile(options).call("PATCH", f"/v1/tenants/{tenant}/users/{name}", body)
    _show(options, result, _user_line(result))


@user_app.command("code")
def user_code(ctx: typer.Context, user: Annotated[str, typer.Argument(help="NAME@TENANT")]) -> None:
    """Issue another one-time enrollment code (for one more device)."""
    options: _Options = ctx.obj
    name, tenant = _split(user, "user")
    result = _Session.from_profile(options).call("POST", f"/v1/tenants/{tenant}/users/{name}/enrollment-codes")
    _show(options, result, f"Enrollment code (until {result['expires_at']}): {result['enrollment_code']}")


@user_app.command("devices")
def user_devices(ctx: typer.Context, user: Annotated[str, typer.Argument(help="NAME@TENANT")]) -> None:
    options: _Options = ctx.obj
    name, tenant = _split(user, "user")
    result = _Session.from_profile(options).call("GET", f"/v1/tenants/{tenant}/users/{name}/devices")
    lines = [
        f"{d['device_id']}  {d['name']}  {'revoked ' + d['revoked_at'] if d['revoked_at'] else 'active'}"
        for d in result["devices"]
    ]
    _show(options, result, "\n".join(lines) or "(no devices)")


@user_app.command("revoke-device")
def user_revoke_device(
    ctx: typer.Context,
    user: Annotated[str, typer.Argument(help="NAME@TENANT")],
    device_id: Annotated[str, typer.Argument()],
) -> None:
    """Revoke a device: its tokens and KeyPackages stop working at once."""
    options: _Options = ctx.obj
    name, tenant = _split(user, "user")
    result = _Session.from_profile(options).call("DELETE", f"/v1/tenants/{tenant}/users/{name}/devices/{device_id}")
    _show(options, result, f"Revoked {result['device_id']}")


# -- groups ----------------------------------------------------------------------------------------------


def _group_line(group: dict[str, Any]) -> str:
    return f"{group['group']}@{group['tenant']}: {', '.join(group['members']) or '(no members)'}"


@group_app.command("add")
def group_add(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(help="NAME@TENANT")],
    member: Annotated[list[str] | None, typer.Option("--member", help="user name to add (repeatable)")] = None,
) -> None:
    """Create a group, optionally with members."""
    options: _Options = ctx.obj
    name, tenant = _split(group, "group")
    session = _Session.from_profile(options)
    result = session.call("POST", f"/v1/tenants/{tenant}/groups", {"name": name})
    for user in member or []:
        result = session.call("PUT", f"/v1/tenants/{tenant}/groups/{name}/members/{user}")
    _show(options, result, f"Created group {_group_line(result)}")


@group_app.command("members")
def group_members(
    ctx: typer.Context,
    group: Annotated[str, typer.Argument(help="NAME@TENANT")],
    add: Annotated[list[str] | None, typer.Option("--add", help="user name (repeatable)")] = None,
    remove: Annotated[list[str] | None, typer.Option("--remove", help="user name (repeatable)")] = None,
) -> None:
    """Add or remove members; prints the group."""
    options: _Options = ctx.obj
    name, tenant = _split(group, "group")
    session = _Session.from_profile(options)
    result = session.call("GET", f"/v1/tenants/{tenant}/groups/{name}")
    for user in add or []:
        result = session.call("PUT", f"/v1/tenants/{tenant}/groups/{name}/members/{user}")
    for user in remove or []:
        result = session.call("DELETE", f"/v1/tenants/{tenant}/groups/{name}/members/{user}")
    _show(options, result, _group_line(result))


@group_app.command("list")
def group_list(ctx: typer.Context, tenant: Annotated[str, typer.Argument()]) -> None:
    options: _Options = ctx.obj
    result = _Session.from_profile(options).call("GET", f"/v1/tenants/{tenant}/groups")
    _show(options, result, "\n".join(_group_line(g) for g in result["groups"]) or "(no groups)")


# -- policies --------------------------------------------------------------------------------------------


def _policy_line(policy: dict[str, Any]) -> str:
    return f"{policy['name']}: calls={policy['calls']} meetings={policy['meetings']}"


@policy_app.command("create")
def policy_create(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Argument(help="policy name")],
    calls: Annotated[str, typer.Option(help="disabled or user_override")] = "user_override",
    meetings: Annotated[str, typer.Option(help="disabled, user_override or required")] = "user_override",
    description: Annotated[str, typer.Option()] = "",
    replace: Annotated[bool, typer.Option("--replace", help="replace an existing policy of that name")] = False,
) -> None:
    """Create (or with --replace, update) an enhanced-encryption policy."""
    options: _Options = ctx.obj
    body = {"name": name, "calls": calls, "meetings": meetings, "description": description}
    session = _Session.from_profile(options)
    if replace:
        result = session.call("PUT", f"/v1/tenants/{tenant}/policies/{name}", body)
    else:
        result = session.call("POST", f"/v1/tenants/{tenant}/policies", body)
    _show(options, result, ("Replaced " if replace else "Created ") + _policy_line(result))


@policy_app.command("delete")
def policy_delete(
    ctx: typer.Context, tenant: Annotated[str, typer.Argument()], name: Annotated[str, typer.Argument()]
) -> None:
    options: _Options = ctx.obj
    _Session.from_profile(options).call("DELETE", f"/v1/tenants/{tenant}/policies/{name}")
    _show(options, {"deleted": name}, f"Deleted policy {name}")


def _target(user: str | None, group: str | None, whole_tenant: bool) -> dict[str, Any]:
    chosen = [t for t in (user and "user", group and "group", whole_tenant and "tenant") if t]
    if len(chosen) != 1:
        _fail("name exactly one of --user, --group or --tenant-wide")
    if user:
        return {"kind": "user", "name": user}
    if group:
        return {"kind": "group", "name": group}
    return {"kind": "tenant"}


def _assignment_lines(result: dict[str, Any]) -> str:
    lines = []
    for a in result["assignments"]:
        target = a["target"]
        who = target["kind"] if target.get("name") is None else f"{target['kind']} {target['name']}"
        rank = f" (rank {a['rank']})" if a.get("rank") else ""
        lines.append(f"{who}{rank} -> {a['policy']}")
    return "\n".join(lines) or "(no assignments)"


@policy_app.command("assign")
def policy_assign(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument()],
    policy: Annotated[str, typer.Argument(help="policy name, or Global")],
    user: Annotated[str | None, typer.Option(help="user name")] = None,
    group: Annotated[str | None, typer.Option(help="group name")] = None,
    tenant_wide: Annotated[bool, typer.Option("--tenant-wide", help="the whole tenant")] = False,
    rank: Annotated[int | None, typer.Option(help="group rank, 1 = highest priority")] = None,
) -> None:
    """Assign a policy to a user, a group or the whole tenant."""
    options: _Options = ctx.obj
    body: dict[str, Any] = {"target": _target(user, group, tenant_wide), "policy": policy}
    if rank is not None:
        body["rank"] = rank
    result = _Session.from_profile(options).call("PUT", f"/v1/tenants/{tenant}/policy-assignments", body)
    _show(options, result, _assignment_lines(result))


@policy_app.command("unassign")
def policy_unassign(
    ctx: typer.Context,
    tenant: Annotated[str, typer.Argument()],
    user: Annotated[str | None, typer.Option(help="user name")] = None,
    group: Annotated[str | None, typer.Option(help="group name")] = None,
    tenant_wide: Annotated[bool, typer.Option("--tenant-wide")] = False,
) -> None:
    options: _Options = ctx.obj
    target = _target(user, group, tenant_wide)
    result = _Session.from_profile(options).call(
        "DELETE", f"/v1/tenants/{tenant}/policy-assignments", params={k: v for k, v in target.items()}
    )
    _show(options, result, _assignment_lines(result))


@policy_app.command("show")
def policy_show(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="TENANT for its policies and assignments, or NAME@TENANT")],
) -> None:
    """A tenant's policies and assignments, or a user's effective policy and why it applies."""
    options: _Options = ctx.obj
    session = _Session.from_profile(options)
    if "@" in target:
        name, tenant = _split(target, "user")
        result = session.call("GET", f"/v1/tenants/{tenant}/users/{name}/effective-policy")
        reasons = "".join(f"\n  - {r['message']}" for r in result["reasons"])
        _show(options, result, f"{result['user']}: {_policy_line(result['policy'])}\n  {result['provenance']}{reasons}")
        return
    policies = session.call("GET", f"/v1/tenants/{target}/policies")
    assignments = session.call("GET", f"/v1/tenants/{target}/policy-assignments")
    text = (
        "Policies:\n"
        + ("\n".join("  " + _policy_line(p) for p in policies["policies"]) or "  (none; 'Global' applies)")
        + "\nAssignments:\n"
        + "\n".join("  " + line for line in _assignment_lines(assignments).splitlines())
    )
    _show(options, {**policies, **assignments}, text)


# -- audit -----------------------------------------------------------------------------------------------


@admin_app.command("audit")
def audit(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None,
    limit: Annotated[int, typer.Option(help="entries (newest first)")] = 50,
    before: Annotated[int | None, typer.Option(help="entries older than this id")] = None,
) -> None:
    """The audit log: who did what to which target, when, and the result."""
    options: _Options = ctx.obj
    params: dict[str, Any] = {"limit": limit}
    if tenant:
        params["tenant"] = tenant
    if before:
        params["before"] = before
    result = _Session.from_profile(options).call("GET", "/v1/audit", params=params)
    lines = [
        f"{e['id']:>6} {e['at']}  {e['actor']}  {e['action']}  {e.get('tenant') or '-'}  {e.get('target') or '-'}"
        f"  {e['result']}" + (f" ({e['detail']})" if e.get("detail") else "")
        for e in result["entries"]
    ]
    _show(options, result, "\n".join(lines) or "(empty)")
