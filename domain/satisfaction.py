"""Post-complaint satisfaction: the one question a resident is asked when their complaint closes
after a response, and the answers it allows. (Not TP09, which comes from the landlord's annual
perception survey: these replies are the landlord's own post-complaint measure.)"""

from __future__ import annotations

from enum import IntEnum

QUESTION = "How satisfied are you with how we handled your complaint?"
MAX_COMMENT = 1000


class Rating(IntEnum):
    very_satisfied = 5
    fairly_satisfied = 4
    neither = 3
    fairly_dissatisfied = 2
    very_dissatisfied = 1


RATING_LABELS: dict[Rating, str] = {
    Rating.very_satisfied: "Very satisfied",
    Rating.fairly_satisfied: "Fairly satisfied",
    Rating.neither: "Neither satisfied nor dissatisfied",
    Rating.fairly_dissatisfied: "Fairly dissatisfied",
    Rating.very_dissatisfied: "Very dissatisfied",
}
