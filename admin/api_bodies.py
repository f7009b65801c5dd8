"""The JSON API's request bodies, built from the domain models they feed so the two stay in step,
but as strict as the OpenAPI document says:

- a date-time is text in ISO 8601 with its offset (2027-03-08T09:30:00+00:00) and a date is
  text (2027-03-08): a number (`"at": 0`) is refused, not read as seconds since 1970;
- a whole number is a JSON number and a yes/no is true or false, not "5" or 1;
- a member of staff (an owner, a reviewer) is named by their staff id; their name and email come
  from the staff accounts (admin/naming.py), never from the body.

Each refusal is a 422 naming the field, as every other bad body."""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from copy import copy
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel, BeforeValidator, Field, StrictBool, StrictInt
from pydantic import create_model as _create_model

from admin.case_kinds import CaseKind
from admin.naming import DESCRIPTIONS, NAMED_FIELDS
from domain.letters import RemedyAction
from domain.people import StaffMember, Strict
from domain.references import PATTERN

DATE_TIME_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date_time_text(value: Any) -> Any:
    if isinstance(value, str) and DATE_TIME_TEXT.match(value):
        return value
    raise ValueError("give a date and time as text with its offset, like 2027-03-08T09:30:00Z")


def _date_text(value: Any) -> Any:
    if isinstance(value, str) and DATE_TEXT.match(value):
        return value
    raise ValueError("give a date as text, like 2027-03-08")


StaffId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=80,
        pattern=r"^[A-Za-z0-9._@-]+$",
        description="A staff id; the name and email are the account's.",
    ),
]


def api_type(annotation: Any) -> Any:
    """`annotation` (a domain model field's) as strict as the API's documentation says."""
    if annotation is StaffMember:
        return StaffId
    if annotation is AwareDatetime or annotation is datetime:
        return Annotated[annotation, BeforeValidator(_date_time_text)]
    if annotation is date:
        return Annotated[date, BeforeValidator(_date_text)]
    if annotation is bool:
        return StrictBool
    if annotation is int:
        return StrictInt
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is types.UnionType:
        return Union[tuple(api_type(a) for a in args)]  # noqa: UP007 (built from a tuple)
    if origin is list:
        return list[api_type(args[0])]  # type: ignore[misc]
    if origin is Annotated:
        return Annotated[(api_type(args[0]), *annotation.__metadata__)]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _api_model(annotation)
    return annotation


def names_staff(annotation: Any) -> bool:
    """Whether a field of this type names a member of staff."""
    return annotation is StaffMember or any(names_staff(a) for a in get_args(annotation))


# Nested fields naming a member of staff that the API does not take yet (naming by staff id is
# done for a body's own fields only, admin/naming.py NAMED_FIELDS): the body accepts only null
# there, and the domain's default applies. Any other nested staff field is refused below.
NESTED_STAFF_LEFT_OUT: Mapping[tuple[type, str], str] = {
    (RemedyAction, "responsible"): "Not taken by the API: the case's owner is responsible for "
    "each action (the case page's respond form can name someone else).",
}


@cache
def _api_model(model: type[BaseModel]) -> type[BaseModel]:
    """A nested domain model (a resident, the remedies) with strict fields: a subclass, so its
    own validators still run; the model itself when nothing changes."""
    changed = {
        name: (api_type(f.annotation), f)
        for name, f in model.model_fields.items()
        if api_type(f.annotation) != f.annotation
    }
    for name in changed:
        if names_staff(model.model_fields[name].annotation):
            left_out = NESTED_STAFF_LEFT_OUT.get((model, name))
            if left_out is None:
                raise TypeError(f"{model.__name__}.{name} names staff: name them by staff id")
            changed[name] = (None, Field(default=None, description=left_out))
    if not changed:
        return model
    return _create_model(f"{model.__name__}In", __base__=model, **changed)  # type: ignore[call-overload]


def body_model(
    model: type[BaseModel], name: str, drop: set[str], doc: str, **extra: Any
) -> type[BaseModel]:
    """The API's body for the domain `model`: its fields but those in `drop`, strict (see the
    module's note), plus `extra`. A field naming a member of staff takes their staff id, and
    must be in admin/naming.py's NAMED_FIELDS."""
    named: Mapping[str, Any] = NAMED_FIELDS.get(model, {})
    fields: dict[str, Any] = {}
    for field_name, f in model.model_fields.items():
        if field_name in drop:
            continue
        info = f
        if names_staff(f.annotation):
            if field_name not in named:
                raise TypeError(
                    f"{model.__name__}.{field_name} names staff: add it to NAMED_FIELDS"
                )
            info = copy(f)
            info.description = DESCRIPTIONS[named[field_name]]
        fields[field_name] = (api_type(f.annotation), info)
    fields.update(extra)
    return _create_model(name, __base__=Strict, __doc__=doc, **fields)  # type: ignore[call-overload]


def new_case_body(kind: CaseKind) -> type[BaseModel]:
    """What `POST` lodging takes: the kind's lodge model, the reference optional, who lodged it
    always the signed-in account."""
    return body_model(
        kind.lodge_model,
        f"New{kind.label}",
        {"reference", "lodged_by", "policy"},  # the policy: always the landlord's current one
        f"{kind.a_noun.capitalize()} to lodge: as `{kind.lodge_model.__name__}`, but the "
        "reference is optional (a new one is made), who lodged it is always the signed-in "
        "account, it runs under the landlord's current policy, and staff are named by their "
        "staff id.",
        reference=(
            str | None,
            Field(
                default=None,
                pattern=PATTERN.pattern,
                description=f"Leave it out to get a new reference, like {kind.prefix}-7KQ3-XM2P",
            ),
        ),
    )


def step_bodies(kind: CaseKind) -> dict[Any, type[BaseModel]]:
    """Each step's body: its domain model without `by`, which is always the signed-in account."""
    return {
        step: body_model(
            model,
            f"{model.__name__}Body",
            {"by"},
            (model.__doc__ or f"The '{step.value}' step.").strip(),
        )
        for step, model in kind.step_models.items()
    }
