"""The ways an enquiry reaches us (customer service standards), each with its own reply clock in
the policy, and the ways we contact a resident. Their own module so the policy model and a
resident's adjustments (domain/adjustments.py) can name them without importing the enquiry
process or the people."""

from __future__ import annotations

from enum import StrEnum


class EnquiryChannel(StrEnum):
    online_form = "online_form"  # the website's contact form
    help_email = "help_email"  # the customer services address (help@...)
    social_media = "social_media"
    team_email = "team_email"  # email to another team or a named member of staff
    letter = "letter"
    callback = "callback"  # a named person was unavailable and will call back
    phone = "phone"  # a call the advisor could not sort there and then
    in_person = "in_person"


class ContactMethod(StrEnum):
    """How the resident wants to hear from us. Written replies by phone preference go by email
    where we have an address, otherwise by post. (Also importable from domain.people.)"""

    email = "email"
    post = "post"
    phone = "phone"
