"""The letters activity: render a letter, deliver it, and keep the ledger that makes each
(case, letter key) go at most once however often Temporal retries the activity.

Order matters: claim in the ledger, deliver, mark sent. A retry after a crash finds the claim and
delivers again only if it was never marked sent. Outbox delivery is then exactly-once (the file
is named by the key and written atomically). Through SendGrid a duplicate is possible only if
the process dies between SendGrid accepting the message and the ledger commit; every message
carries its key (X-Letter-Key) so such a duplicate is identifiable.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from config import Settings
from domain.letters import Delivery, LetterReceipt, LetterRequest
from letters.delivery import OutgoingLetter, deliver
from letters.render import render_letter
from records.case_links import CaseLinks
from records.schema import StaffAccount
from records.store import RecordsStore


class LetterActivities:
    def __init__(self, settings: Settings, store: RecordsStore) -> None:
        self.settings = settings
        self.store = store

    @activity.defn(name="send_letter")
    def send_letter(self, request: LetterRequest) -> LetterReceipt:
        labels = {"kind": request.kind.value, "delivery": request.delivery.value}
        meter = activity.metric_meter()
        try:
            receipt = self._send(request)
        except Exception:
            meter.create_counter("letters_failed", "Letter attempts that failed").add(1, labels)
            raise
        if not receipt.already_sent:
            meter.create_counter("letters_sent", "Letters sent").add(1, labels)
        return receipt

    def _send(self, request: LetterRequest) -> LetterReceipt:
        existing = self.store.get_letter(request.reference, request.key)
        if existing is not None and existing.sent:
            activity.logger.info("Letter %s/%s already sent", request.reference, request.key)
            return self._receipt(
                request, existing.sent_at, True, existing.provider_id, existing.location
            )
        link = None
        if request.recipient.role == "resident":
            link = CaseLinks(self.store).generation_for_letters(request.reference)
        rendered = render_letter(
            request, self.settings, case_link=link, staff_name=self._staff_name
        )
        letter = OutgoingLetter.for_request(request, rendered, self.settings)
        self.store.claim_letter(request, recipient=_shown(letter), subject=rendered.subject)
        delivered = deliver(letter, self.settings)
        sent_at = datetime.now(UTC)
        self.store.mark_letter_sent(
            request.reference,
            request.key,
            body_html=rendered.html,
            provider_id=delivered.provider_id,
            location=delivered.location,
            sent_at=sent_at,
        )
        activity.logger.info("Letter %s/%s sent", request.reference, request.key)
        return self._receipt(request, sent_at, False, delivered.provider_id, delivered.location)

    def _staff_name(self, staff_id: str) -> str | None:
        """The name on staff account `staff_id`, who signs the letter (None: no such account,
        and the team signs it). An account made inactive since keeps its name."""
        with self.store.reading() as session:
            account = session.get(StaffAccount, staff_id)
            return account.name if account is not None else None

    @staticmethod
    def _receipt(
        request: LetterRequest,
        sent_at: datetime | None,
        already: bool,
        provider_id: str | None,
        location: str | None,
    ) -> LetterReceipt:
        return LetterReceipt(
            reference=request.reference,
            key=request.key,
            delivery=request.delivery,
            sent_at=sent_at or datetime.now(UTC),
            already_sent=already,
            provider_id=provider_id,
            location=location,
        )


def _shown(letter: OutgoingLetter) -> str:
    """Where the letter went, as the case page shows it."""
    if letter.delivery is Delivery.email:
        return letter.to_email or ""
    address = letter.to_address
    return ", ".join([*address.lines, address.postcode]) if address else ""
