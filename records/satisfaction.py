"""Satisfaction survey replies (`satisfaction_replies`): post-complaint satisfaction, for the
reports (not TP09, which comes from the annual perception survey).

A reply is kept once per case and once per link: the table's unique constraints decide, so of two
posts of the same link at the same moment one is recorded and the other is told it was already
answered. Every method blocks (SQL): from the web app, call them through admin.off_loop.off_loop.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from domain.satisfaction import MAX_COMMENT, Rating
from records.schema import Case, SatisfactionReply, utc
from records.store import RecordsStore


class Reply(BaseModel):
    """One answer to the survey, as the public page sends it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rating: Rating
    comment: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_COMMENT)] | None
    ) = None


class Recorded(StrEnum):
    recorded = "recorded"
    already_answered = "already_answered"
    no_such_case = "no_such_case"


class StoredReply(BaseModel):
    model_config = ConfigDict(frozen=True)

    reference: str
    nonce: str
    rating: Rating
    comment: str | None
    answered_at: datetime = Field()


class SatisfactionReplies:
    def __init__(self, store: RecordsStore) -> None:
        self.store = store

    def answered(self, reference: str, nonce: str) -> bool:
        """Whether this case, or this link, has its reply already."""
        with self.store.reading() as session:
            found = session.scalar(
                select(SatisfactionReply.id).where(
                    (SatisfactionReply.reference == reference) | (SatisfactionReply.nonce == nonce)
                )
            )
        return found is not None

    def record(self, reference: str, nonce: str, reply: Reply, now: datetime) -> Recorded:
        """Keep the reply, once: a second reply for the case or the link is refused."""
        try:
            with self.store.writing() as session, session.begin():
                if session.get(Case, reference) is None:
                    return Recorded.no_such_case
                taken = session.scalar(
                    select(SatisfactionReply.id).where(
                        (SatisfactionReply.reference == reference)
                        | (SatisfactionReply.nonce == nonce)
                    )
                )
                if taken is not None:
                    return Recorded.already_answered
                session.add(
                    SatisfactionReply(
                        reference=reference,
                        nonce=nonce,
                        rating=int(reply.rating),
                        comment=reply.comment or None,
                        answered_at=utc(now),
                    )
                )
        except IntegrityError:  # the other of two posts at the same moment won
            return Recorded.already_answered
        return Recorded.recorded

    def for_case(self, reference: str) -> StoredReply | None:
        with self.store.reading() as session:
            row = session.scalar(
                select(SatisfactionReply).where(SatisfactionReply.reference == reference)
            )
            if row is None:
                return None
            return StoredReply(
                reference=row.reference,
                nonce=row.nonce,
                rating=Rating(row.rating),
                comment=row.comment,
                answered_at=row.answered_at,
            )
