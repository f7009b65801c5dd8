"""The records database: the case projection, timelines and the letters ledger."""

from records.store import LetterNotClaimed, LetterRow, RecordsStore, migrate

__all__ = ["LetterNotClaimed", "LetterRow", "RecordsStore", "migrate"]
