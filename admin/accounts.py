"""Staff accounts: who may sign in, with which role, and what each role may do."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.complaint import Step
from domain.enquiry import EnquiryStep
from domain.people import StaffMember
from domain.roles import ENQUIRY_ROLE_STEPS, ROLE_LABELS, ROLE_STEPS, Role, role_may
from records.schema import StaffAccount, StaffSession
from records.store import RecordsStore

DEMO_MANAGER_ID = "demo.manager"
MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


class Account(BaseModel):
    model_config = ConfigDict(from_attributes=True, frozen=True)

    id: str
    name: str
    email: str
    role: Role
    active: bool = True

    def may(self, step: Step | EnquiryStep) -> bool:
        return role_may(self.role, step)

    def as_staff(self) -> StaffMember:
        return StaffMember(id=self.id, name=self.name, email=self.email)


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    role: Role
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)


class AccountStore:
    def __init__(self, store: RecordsStore) -> None:
        self.engine = store.engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def get(self, account_id: str) -> Account | None:
        with self._session() as s:
            row = s.get(StaffAccount, account_id)
            return Account.model_validate(row) if row else None

    def all(self) -> list[Account]:
        with self._session() as s:
            rows = s.scalars(select(StaffAccount).order_by(StaffAccount.name)).all()
            return [Account.model_validate(r) for r in rows]

    def create(self, new: NewAccount) -> Account:
        now = datetime.now(UTC)
        with self._session() as s, s.begin():
            if s.get(StaffAccount, new.id) is not None:
                raise ValueError(f"There is already an account '{new.id}'. Choose another id.")
            row = StaffAccount(
                id=new.id,
                name=new.name,
                email=str(new.email),
                role=new.role.value,
                password_hash=_hasher.hash(new.password),
                active=True,
                created_at=now,
                updated_at=now,
            )
            s.add(row)
        return Account.model_validate(row)

    def update(
        self,
        account_id: str,
        *,
        role: Role | None = None,
        active: bool | None = None,
        password: str | None = None,
    ) -> Account:
        with self._session() as s, s.begin():
            row = s.get(StaffAccount, account_id)
            if row is None:
                raise ValueError(f"No account '{account_id}'.")
            if role is not None:
                row.role = role.value
            if active is not None:
                row.active = active
            if password is not None:
                if len(password) < MIN_PASSWORD_LENGTH:
                    raise ValueError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
                row.password_hash = _hasher.hash(password)
            row.updated_at = datetime.now(UTC)
        return Account.model_validate(row)

    def authenticate(self, account_id: str, password: str) -> Account | None:
        with self._session() as s:
            row = s.get(StaffAccount, account_id.strip().lower())
            if row is None or not row.active:
                _hasher.hash(password)  # spend the same time as a real check
                return None
            try:
                _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                return None
            return Account.model_validate(row)

    def password_is(self, account_id: str, password: str) -> bool:
        with self._session() as s:
            row = s.get(StaffAccount, account_id)
            if row is None:
                return False
            try:
                return _hasher.verify(row.password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

    def open_session(self, account_id: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._session() as s, s.begin():
            s.add(StaffSession(id=sid, account_id=account_id, created_at=datetime.now(UTC)))
        return sid

    def session_account(self, sid: str) -> Account | None:
        """The active account of a live (not signed-out) session."""
        with self._session() as s:
            row = s.get(StaffSession, sid)
            if row is None or row.revoked_at is not None:
                return None
            account = s.get(StaffAccount, row.account_id)
            return Account.model_validate(account) if account and account.active else None

    def close_session(self, sid: str) -> None:
        with self._session() as s, s.begin():
            row = s.get(StaffSession, sid)
            if row is not None and row.revoked_at is None:
                row.revoked_at = datetime.now(UTC)

    def ensure_demo_manager(self, password_file: str) -> tuple[str, str] | None:
        """On a first run (no accounts at all) create the demo manager with a random password,
        kept in `password_file` so production mode can tell it was never changed. Returns the
        credentials when it created them."""
        if self.all():
            return None
        password = secrets.token_urlsafe(12)
        self.create(
            NewAccount(
                id=DEMO_MANAGER_ID,
                name="Demo Manager",
                email="demo.manager@example.org",
                role=Role.manager,
                password=password,
            )
        )
        with open(password_file, "w") as f:
            f.write(password)
        return DEMO_MANAGER_ID, password


__all__ = [
    "DEMO_MANAGER_ID",
    "ENQUIRY_ROLE_STEPS",
    "ROLE_LABELS",
    "ROLE_STEPS",
    "Account",
    "AccountStore",
    "NewAccount",
    "Role",
]
