"""The ways an enquiry reaches us (customer service standards), each with its own reply clock in
the policy. Its own module so the policy model can name them without importing the enquiry
process."""

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
