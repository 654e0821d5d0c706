"""``outsidein user``, ``department`` and ``apikey``: people, departments and machine keys."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from outsidein.access import SCOPES
from outsidein.cli._common import JSON_OPTION, console, console_err, print_json, workspace
from outsidein.errors import DataValidationError

if TYPE_CHECKING:
    pass

user_app = typer.Typer(help="People who log in to the web app.", no_args_is_help=True)
department_app = typer.Typer(help="Departments insights are addressed to.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys for machines (Authorization: Bearer <key>).",
                         no_args_is_help=True)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise DataValidationError("--password-stdin: expected the password on standard input")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument(help="e-mail, used to log in")],
    name: Annotated[str, typer.Option("--name", help="display name")],
    role: Annotated[str, typer.Option("--role", help="admin, advocate, member or viewer")],
    department: Annotated[list[str] | None, typer.Option(
        "--department", "-d", help="department membership (repeat for several)")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="read the password from standard input")] = False,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Add a person (the password is asked for, or read with --password-stdin)."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    password = _read_password(password_stdin)
    ws = workspace(ctx)
    with session_scope(ws.store_url) as s:
        user = accounts.create_user(s, email=email, name=name, password=password, role=role,
                                    departments=department or [])
    if json_out:
        print_json(user)
    else:
        deps = f" in {', '.join(user.departments)}" if user.departments else ""
        console.print(f"added {user.email} ({user.role}{deps})", highlight=False)


@user_app.command("update")
def user_update(
    ctx: typer.Context,
    email: Annotated[str, typer.Argument()],
    role: Annotated[str | None, typer.Option("--role", help="new role")] = None,
    department: Annotated[list[str] | None, typer.Option(
        "--department", "-d", help="replace the departments (repeat for several)")] = None,
    active: Annotated[bool | None, typer.Option(
        "--activate/--deactivate", help="allow or stop logging in")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="set a new password read from standard input")] = False,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Change a person's role, departments, password, or deactivate them."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    password = _read_password(True) if password_stdin else None
    with session_scope(workspace(ctx).store_url) as s:
        user = accounts.update_user(s, email, role=role, departments=department, active=active,
                                    password=password)
    if json_out:
        print_json(user)
        return
    state = "active" if user.active else "deactivated"
    console.print(f"{user.email}: {user.role}, {', '.join(user.departments) or 'no department'}, "
                  f"{state}", highlight=False)


@user_app.command("list")
def user_list(ctx: typer.Context, json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """List everyone with their role and departments."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        users = accounts.list_users(s)
    if json_out:
        print_json(users)
        return
    table = Table("e-mail", "name", "role", "departments", "active")
    for u in users:
        table.add_row(u.email, u.name, u.role, ", ".join(u.departments),
                      "yes" if u.active else "no")
    console.print(table)


@department_app.command("add")
def department_add(ctx: typer.Context, name: Annotated[str, typer.Argument()],
                   json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Add a department."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        dep = accounts.create_department(s, name)
    print_json(dep) if json_out else console.print(f"added department {dep.name}", highlight=False)


@department_app.command("list")
def department_list(ctx: typer.Context, json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """List departments and their member counts."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        deps = accounts.list_departments(s)
    if json_out:
        print_json(deps)
        return
    for d in deps:
        console.print(f"{d.name}\t{d.members} member(s)", highlight=False)


@apikey_app.command("create")
def apikey_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="what the key is for, e.g. 'crm-sync'")],
    scope: Annotated[list[str], typer.Option(
        "--scope", help=f"repeat for several: {', '.join(SCOPES)}")],
    user: Annotated[str | None, typer.Option(
        "--user", help="e-mail of the person the key acts for (acknowledgements)")] = None,
    json_out: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Create an API key and print its secret once (only a hash is stored)."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        user_id = None
        if user:
            match = [u for u in accounts.list_users(s) if u.email == user.strip().lower()]
            if not match:
                raise DataValidationError(f"--user {user}: no such person; add them with "
                                          "'outsidein user add'")
            user_id = match[0].id
        key, secret = accounts.create_api_key(s, name=name, scopes=scope, user_id=user_id)
    if json_out:
        print_json({**key.to_dict(), "secret": secret})
        return
    console.print(secret, highlight=False, soft_wrap=True)
    console_err.print(f"API key {key.prefix} ({' '.join(key.scopes)}): store the secret above "
                      "now, it is not shown again", highlight=False)


@apikey_app.command("list")
def apikey_list(ctx: typer.Context, json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """List API keys (never their secrets)."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        keys = accounts.list_api_keys(s)
    if json_out:
        print_json(keys)
        return
    table = Table("prefix", "name", "scopes", "created", "status")
    for k in keys:
        table.add_row(k.prefix, k.name, " ".join(k.scopes), f"{k.created_at:%Y-%m-%d}",
                      "active" if k.active else f"revoked {k.revoked_at:%Y-%m-%d}")
    console.print(table)


@apikey_app.command("revoke")
def apikey_revoke(ctx: typer.Context, prefix: Annotated[str, typer.Argument()],
                  json_out: Annotated[bool, JSON_OPTION] = False) -> None:
    """Revoke the API key with this prefix (e.g. oi_1a2b3c4d)."""
    from outsidein.services import accounts  # loaded when the command runs (start-up)
    from outsidein.store.db import session_scope  # loaded when the command runs (start-up)
    with session_scope(workspace(ctx).store_url) as s:
        key = accounts.revoke_api_key(s, prefix)
    print_json(key) if json_out else console.print(f"revoked {key.prefix}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``user``, ``department`` and ``apikey`` to *app*."""
    app.add_typer(user_app, name="user")
    app.add_typer(department_app, name="department")
    app.add_typer(apikey_app, name="apikey")
