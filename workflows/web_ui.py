"""What the Temporal Web UI shows about a case. It renders a workflow's current details as
Markdown, HTML included, so text that staff typed (a team's name, an owner's id) goes in as plain
text: every Markdown and HTML character escaped, on one line."""

from __future__ import annotations

import re

# CommonMark lets a backslash escape any ASCII punctuation: these are the ones that mean something
# there, with ":" and "." so that a GFM renderer does not turn https://... or www.... into links
_MARKUP = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&:])")


def plain(text: object) -> str:
    return _MARKUP.sub(r"\\\1", " ".join(str(text).split()))
