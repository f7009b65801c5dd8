"""Letters to residents and staff: render them from templates, then deliver them.

`render_letter` turns a `LetterRequest` into a subject, an HTML letter and a plain-text
alternative; `deliver` sends it by SendGrid or writes it to the outbox folder.
"""

from letters.delivery import (
    Delivered,
    DeliveryError,
    OutgoingLetter,
    PermanentDeliveryError,
    deliver,
)
from letters.render import OMBUDSMAN, LetterDataError, RenderedLetter, render_letter

__all__ = [
    "OMBUDSMAN",
    "Delivered",
    "DeliveryError",
    "LetterDataError",
    "OutgoingLetter",
    "PermanentDeliveryError",
    "RenderedLetter",
    "deliver",
    "render_letter",
]
