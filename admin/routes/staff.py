"""Staff accounts, for managers: the list (/staff, a row an account), one account's page to
change its role, close it or reset its password (/staff/{id}), and the page to add one
(/staff/new); each form posts where it always did (/staff, /staff/{id}).
Who did each step is recorded with the step itself (its `by`), so nothing here rewrites history.
Closing an account or resetting its password signs it out everywhere (admin/accounts.py).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from admin.accounts import MIN_PASSWORD_LENGTH, Account, NewAccount, Role
from admin.app import render
from admin.forms import ROLES, FormState, FormValues, Problem, form_values, parse_new_account
from admin.off_loop import off_loop
from admin.routes.cases import flash, take_flash
from admin.security import current_account, require_role

router = APIRouter(dependencies=[Depends(current_account)])
manager_only = require_role(Role.manager)


async def _list_page(request: Request) -> Response:
    return render(
        request,
        "staff.html",
        title="Staff",
        accounts=await off_loop(request.app.state.accounts.all),
        flash=take_flash(request),
    )


def _new_page(
    request: Request,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff_new.html",
        status_code,
        title=("Error: " if problems else "") + "Add a member of staff",
        form=form or FormState(),
        problems=problems or [],
        roles=ROLES,
        min_password=MIN_PASSWORD_LENGTH,
    )


def _account_page(
    request: Request,
    target: Account,
    form: FormState | None = None,
    problems: list[Problem] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "staff_account.html",
        status_code,
        title=("Error: " if problems else "") + f"Change {target.name}'s account",
        target=target,
        form=form or FormState(),
        problems=problems or [],
        roles=ROLES,
        min_password=MIN_PASSWORD_LENGTH,
    )


async def _target(request: Request, account_id: str) -> Account:
    target = await off_loop(request.app.state.accounts.get, account_id)
    if target is None:
        raise HTTPException(404, f"There is no account '{account_id}'.")
    return target


@router.get("/staff", include_in_schema=False)
async def list_staff(request: Request, manager: Account = Depends(manager_only)) -> Response:
    return await _list_page(request)


@router.get("/staff/new", include_in_schema=False)
async def new_staff(request: Request, manager: Account = Depends(manager_only)) -> Response:
    return _new_page(request)


@router.get("/staff/{account_id}", include_in_schema=False)
async def one_account(
    request: Request, account_id: str, manager: Account = Depends(manager_only)
) -> Response:
    return _account_page(request, await _target(request, account_id))


@router.post("/staff", include_in_schema=False)
async def create_staff(request: Request, manager: Account = Depends(manager_only)) -> Response:
    values = form_values(await request.form())
    parsed = parse_new_account(values)
    try:
        new = NewAccount.model_validate(parsed.payload)
    except ValidationError as err:
        problems = parsed.explain(err)
        return _new_page(request, parsed.state(problems), problems, 400)
    try:
        created = await off_loop(request.app.state.accounts.create, new)
    except ValueError as err:
        problems = [Problem("#new-id", str(err))]
        return _new_page(request, parsed.state(problems), problems, 400)
    flash(request, f"Account {created.id} created for {created.name}.")
    return RedirectResponse("/staff", status_code=303)


@router.post("/staff/{account_id}", include_in_schema=False)
async def change_staff(
    request: Request, account_id: str, manager: Account = Depends(manager_only)
) -> Response:
    store = request.app.state.accounts
    target = await _target(request, account_id)
    values = form_values(await request.form())
    role_text = (values.get("role") or [""])[0]
    active = bool((values.get("active") or [""])[0])  # an unticked box is not sent
    password = (values.get("password") or [""])[0] or None
    field = f"account-{target.id}"
    try:
        role = Role(role_text) if role_text else target.role
    except ValueError:
        return _refuse(request, target, values, f"#{field}-role", "Choose a role from the list.")
    if target.id == manager.id and (role is not Role.manager or not active):
        return _refuse(
            request,
            target,
            values,
            f"#{field}-role",
            "You cannot remove your own manager role or close your own account. "
            "Ask another manager.",
        )
    # closing an account or setting its password ends its sessions; a manager setting their
    # own password stays signed in here
    keep = request.session.get("sid") if target.id == manager.id else None
    try:
        await off_loop(
            store.update, target.id, role=role, active=active, password=password, keep_session=keep
        )
    except ValueError as err:
        return _refuse(request, target, values, f"#{field}-password", str(err))
    changed = "Password reset and account" if password else "Account"
    flash(request, f"{changed} {target.id} updated.")
    return RedirectResponse("/staff", status_code=303)


def _refuse(
    request: Request, target: Account, values: FormValues, href: str, text: str
) -> Response:
    """The account's page again, with what was chosen (never the password) and why not."""
    problems = [Problem(href, text)]
    kept = {name: v for name, v in values.items() if name != "password"}
    form = FormState(values=kept, errors={href.removeprefix("#"): text})
    return _account_page(request, target, form, problems, 400)
