"""Staff step forms kept across a redirect (POST/redirect/GET): a step that was refused, or
whose form had problems, is stored here and the browser sent to the case page, which shows the
form again as typed with every problem. A reload then shows the same page; nothing is sent twice.

A draft is the signed-in person's only, for the page it was posted from, and lives an hour;
saving one clears every expired one. Every method blocks (SQL): from the web app, call
them through admin.off_loop.off_loop."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict
from sqlalchemy import delete, select

from records.schema import FormDraft
from records.store import RecordsStore

KEPT_FOR = timedelta(hours=1)


class Draft(BaseModel):
    model_config = ConfigDict(frozen=True)

    step: str
    status_code: int
    values: dict[str, list[str]]
    problems: list[tuple[str, str]]  # (href, text)


class FormDrafts:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    def save(self, account_id: str, path: str, draft: Draft, now: datetime) -> str:
        key = secrets.token_hex(16)
        with self.store.writing() as session, session.begin():
            # every expired form goes, whoever typed it: what was typed (personal data) is kept
            # no longer than an hour past its use
            session.execute(delete(FormDraft).where(FormDraft.created_at < now - KEPT_FOR))
            session.add(
                FormDraft(
                    id=key,
                    account_id=account_id,
                    path=path,
                    step=draft.step,
                    status_code=draft.status_code,
                    values=draft.values,
                    problems=[list(p) for p in draft.problems],
                    created_at=now,
                )
            )
        return key

    def load(self, key: str, account_id: str, path: str, now: datetime) -> Draft | None:
        with self.store.reading() as session:
            row = session.get(FormDraft, key)
        if row is None or row.account_id != account_id or row.path != path:
            return None
        if row.created_at < now - KEPT_FOR:
            return None
        return Draft(
            step=row.step,
            status_code=row.status_code,
            values=row.values,
            problems=[(str(h), str(t)) for h, t in row.problems],
        )

    def clear(self, account_id: str, path: str) -> None:
        """Forget the person's kept forms for the page (after a step went through). Read first:
        nearly always there are none, and a read costs far less than a write."""
        mine = (FormDraft.account_id == account_id) & (FormDraft.path == path)
        with self.store.reading() as session:
            if session.scalar(select(FormDraft.id).where(mine).limit(1)) is None:
                return
        with self.store.writing() as session, session.begin():
            session.execute(
                delete(FormDraft).where(FormDraft.account_id == account_id, FormDraft.path == path)
            )
