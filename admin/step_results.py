"""What a step's POST leaves for the page the browser is sent to next, kept a few seconds.

A step posts, the workflow's Update answers where the case now stands, and the browser is
redirected to the case page (POST/redirect/GET). The whole case, as the step left it, is read
from its record once that shows the step (else by the workflow's status query) while the browser
follows the redirect; what is being read is kept here, in this process, for the same person and
case, and taken (once) by the next page. Another process, or a page asked for later, queries as
before. Nothing here outlives the process or the few seconds it is kept."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

KEPT_FOR_SECONDS = 10.0
MOST_KEPT = 500


class StepResults:
    def __init__(self, kept_for: float = KEPT_FOR_SECONDS, most: int = MOST_KEPT) -> None:
        self._kept_for = kept_for
        self._most = most
        self._items: OrderedDict[tuple[str, str], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, account_id: str, reference: str, case: Any) -> None:
        with self._lock:
            self._items[(account_id, reference)] = (time.monotonic(), case)
            self._items.move_to_end((account_id, reference))
            while len(self._items) > self._most:
                self._items.popitem(last=False)

    def take(self, account_id: str, reference: str) -> Any | None:
        """What the person's last step on the case left, if that was moments ago."""
        with self._lock:
            found = self._items.pop((account_id, reference), None)
        if found is None or time.monotonic() - found[0] > self._kept_for:
            return None
        return found[1]
