"""Who a case is about and who works it."""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from domain.adjustments import Adjustments, contact_only_problem
from domain.channels import ContactMethod


class Strict(BaseModel):
    """Base for every boundary model: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


EMPTY: tuple[Any, ...] = (None, [], {})


class Compact(Strict):
    """A Strict model written as JSON without its empty fields (None, [] or {} where that is the
    field's default), which come back as those defaults when read: for what workflows keep in
    their histories by the thousand (letters, records, step results)."""

    @model_serializer(mode="wrap")
    def _without_empty_defaults(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> Any:
        data = handler(self)
        if info.mode != "json" or not isinstance(data, dict):
            return data
        empty = _empty_by_default(type(self))
        return {k: v for k, v in data.items() if not (k in empty and v in EMPTY)}


@cache
def _empty_by_default(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if not field.is_required() and field.get_default(call_default_factory=True) in EMPTY
    )


class Channel(StrEnum):
    online_form = "online_form"
    email = "email"
    phone = "phone"
    letter = "letter"
    in_person = "in_person"
    social_media = "social_media"


class ComplainantType(StrEnum):
    resident = "resident"
    neighbour = "neighbour"  # lives near our homes but is not our resident
    service_user = "service_user"
    group = "group"
    third_party = "third_party"  # acting for a resident, with consent


class Address(Strict):
    lines: list[str] = Field(min_length=1, max_length=6)
    postcode: str = Field(min_length=5, max_length=8)


class Resident(Strict):
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: Address | None = None
    preferred_contact: ContactMethod = ContactMethod.email
    complainant_type: ComplainantType = ComplainantType.resident
    third_party_consent: bool = False
    acting_for: str | None = Field(default=None, max_length=200)
    # the free text of cases lodged before `adjustments` (domain/adjustments.py `needs_of`)
    reasonable_adjustments: str | None = Field(default=None, max_length=2000)
    adjustments: Adjustments | None = None

    @model_validator(mode="after")
    def _reachable_in_writing(self) -> Resident:
        problem = contact_only_problem(
            self.adjustments, email=self.email, phone=self.phone, address=self.address
        )
        if problem:
            raise ValueError(problem)
        if self.adjustments is not None and self.adjustments.contact_only_by is not None:
            self.preferred_contact = self.adjustments.contact_only_by  # the only way is the way
        if self.email is None and self.address is None:
            raise ValueError(
                "give an email address or a postal address: letters must reach the resident"
            )
        if self.preferred_contact is ContactMethod.email and self.email is None:
            raise ValueError("preferred_contact is email but no email address was given")
        if self.preferred_contact is ContactMethod.post and self.address is None:
            raise ValueError("preferred_contact is post but no postal address was given")
        if self.complainant_type is ComplainantType.third_party and not self.third_party_consent:
            raise ValueError(
                "a third party may complain only with the resident's consent: "
                "record third_party_consent once the resident has given it"
            )
        return self

    @property
    def writes_by_email(self) -> bool:
        return self.email is not None and self.preferred_contact is not ContactMethod.post


class StaffMember(Strict):
    id: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9._@-]+$")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
