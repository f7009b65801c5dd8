"""Staff accounts: who may sign in, with which role, and what each role may do."""

from __future__ import annotations

import os
import secrets
import threading
from datetime import UTC, datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel, ConfigDict, EmailStr, Field
from sqlalchemy import select
from sqlalchemy import update as sql_update
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
# argon2 takes a CPU core (and 64 MiB) for a good fraction of a second. At most one hash per core
# at a time, leaving one core for everything else: a flood of sign-ins then queues for a core
# instead of slowing every hash, and every other request, down together.
_HASHING = threading.BoundedSemaphore(max(1, (os.cpu_count() or 1) - 1))


def _hash(password: str) -> str:
    with _HASHING:
        return _hasher.hash(password)


def _verified(password_hash: str, password: str) -> bool:
    with _HASHING:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


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


# Usernames that are pages of the staff accounts' own (/staff/new), so no account may take them.
RESERVED_USERNAMES = frozenset({"new"})


class NewAccount(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    id: str = Field(min_length=2, max_length=80, pattern=r"^[a-z0-9._-]+$")
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr
    role: Role
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=200)


class AccountStore:
    """Staff accounts and their sessions in the records database. Every method blocks (SQL,
    argon2): from the web app, call them through admin.off_loop.off_loop."""

    def __init__(self, store: RecordsStore) -> None:
        self._session = store.reading
        self._writing = store.writing

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
        password_hash = _hash(new.password)  # before the transaction: it takes a while
        with self._writing() as s, s.begin():
            if new.id in RESERVED_USERNAMES:
                raise ValueError(f"'{new.id}' cannot be a username. Choose another username.")
            if s.get(StaffAccount, new.id) is not None:
                raise ValueError(
                    f"There is already an account '{new.id}'. Choose another username."
                )
            row = StaffAccount(
                id=new.id,
                name=new.name,
                email=str(new.email),
                role=new.role.value,
                password_hash=password_hash,
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
        keep_session: str | None = None,
    ) -> Account:
        """Change an account. Closing it, or setting its password, ends every session it has
        (a copied cookie stops working, and reopening the account does not bring it back), but
        `keep_session`: the session of a manager setting their own password."""
        password_hash = None
        if password is not None:
            if len(password) < MIN_PASSWORD_LENGTH:
                raise ValueError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
            password_hash = _hash(password)
        now = datetime.now(UTC)
        with self._writing() as s, s.begin():
            row = s.get(StaffAccount, account_id)
            if row is None:
                raise ValueError(f"No account '{account_id}'.")
            if role is not None:
                row.role = role.value
            if active is not None:
                row.active = active
            if password_hash is not None:
                row.password_hash = password_hash
            row.updated_at = now
            if active is False or password_hash is not None:
                self._revoke(s, account_id, now, keep=keep_session)
        return Account.model_validate(row)

    @staticmethod
    def _revoke(s: Session, account_id: str, now: datetime, keep: str | None = None) -> None:
        query = sql_update(StaffSession).where(
            StaffSession.account_id == account_id, StaffSession.revoked_at.is_(None)
        )
        if keep is not None:
            query = query.where(StaffSession.id != keep)
        s.execute(query.values(revoked_at=now))

    def _password_hash(self, account_id: str) -> tuple[StaffAccount | None, str | None]:
        with self._session() as s:
            row = s.get(StaffAccount, account_id)
            return row, (row.password_hash if row is not None else None)

    def authenticate(self, account_id: str, password: str) -> Account | None:
        # the database is read, and its connection given back, before the (slow) hash check
        row, password_hash = self._password_hash(account_id.strip().lower())
        if row is None or password_hash is None or not row.active:
            _hash(password)  # spend the same time as a real check
            return None
        if not _verified(password_hash, password):
            return None
        return Account.model_validate(row)

    def password_is(self, account_id: str, password: str) -> bool:
        _, password_hash = self._password_hash(account_id)
        return password_hash is not None and _verified(password_hash, password)

    def open_session(self, account_id: str) -> str:
        sid = secrets.token_urlsafe(32)
        with self._writing() as s, s.begin():
            s.add(StaffSession(id=sid, account_id=account_id, created_at=datetime.now(UTC)))
        return sid

    def session_account(self, sid: str) -> Account | None:
        """The active account of a live session: not signed out, and not ended by a change to
        its account (closed, or its password set)."""
        with self._session() as s:
            row = s.get(StaffSession, sid)
            if row is None or row.revoked_at is not None:
                return None
            account = s.get(StaffAccount, row.account_id)
            return Account.model_validate(account) if account and account.active else None

    def close_session(self, sid: str) -> None:
        with self._writing() as s, s.begin():
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
