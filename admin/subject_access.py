"""A subject access export: everything held about a person, across their cases of both kinds,
as one ZIP with a readable index (index.html):

    index.html                      who, which cases, and what each part of the ZIP holds
    person.html                     the person record: details, adjustments, vulnerabilities,
                                    restrictions (when the export is of a person record)
    cases/<ref>/record.html         the case: summary, deadlines (met or breached), timeline
    cases/<ref>/letters/<key>.html  every letter sent to them, as sent
    cases/<ref>/evidence/<n>-<name> their evidence files, byte for byte

Of a person record: every case linked to it. Of a case whose resident is linked to nobody: that
case (and the enquiries it shows evidence from). Only letters to the resident are included
(not the staff's reminders). Blocking (SQL, storage): call through admin.off_loop.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from records.evidence import EvidenceStore
from records.persons import Person, PersonRecords
from records.storage import EvidenceStorage
from records.store import LetterRow, RecordsStore

ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
ENV.filters["when"] = lambda v: v.strftime("%d %B %Y %H:%M UTC") if v else ""

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
</head><body><h1>{{ title }}</h1>{{ body }}</body></html>"""

INDEX = """<p>Subject access export made {{ made|when }}{% if person %} for person record
{{ person.reference }}{% else %} for the resident of case {{ cases[0].reference }}{% endif %}.
It holds everything our complaints and enquiries system keeps about them.</p>
{% if person %}<p><a href="person.html">The person record</a>: their details, and
{{ person.items|length }} adjustment(s), vulnerability(ies) or restriction(s).</p>{% endif %}
<h2>Cases ({{ cases|length }})</h2>
<table border="1" cellpadding="4"><thead><tr><th>Case</th><th>Kind</th><th>Received</th>
<th>Stage and status</th><th>Included</th></tr></thead><tbody>
{% for c in cases %}<tr><td><a href="cases/{{ c.reference }}/record.html">{{ c.reference }}</a>
</td><td>{{ c.kind }}</td><td>{{ c.received|when }}</td><td>{{ c.stage }} / {{ c.status }}</td>
<td>the record (summary, {{ c.deadlines|length }} deadline(s), {{ c.timeline|length }} timeline
entries); {{ c.letters|length }} letter(s) as sent; {{ c.files|length }} evidence file(s)</td>
</tr>{% endfor %}</tbody></table>"""

RECORD = """<h2>Summary</h2><dl>{% for k, v in summary %}<dt>{{ k }}</dt><dd>{{ v }}</dd>
{% endfor %}</dl>
<h2>Deadlines</h2><table border="1" cellpadding="4"><tr><th>Promise</th><th>Due</th>
<th>Met</th><th>Outcome</th></tr>{% for d in deadlines %}<tr><td>{{ d.label or d.clock }}</td>
<td>{{ d.due|when }}</td><td>{{ d.met_at|when }}</td><td>{{ d.outcome }}</td></tr>
{% endfor %}</table>
<h2>Timeline</h2><table border="1" cellpadding="4"><tr><th>When</th><th>What</th><th>Who</th></tr>
{% for e in timeline %}<tr><td>{{ e.at|when }}</td><td>{{ e.summary }}</td>
<td>{{ e.actor or "" }}</td></tr>{% endfor %}</table>
<h2>Letters</h2><ul>{% for l in letters %}<li><a href="letters/{{ l.letter_key }}.html">
{{ l.subject }}</a> ({{ l.sent_at|when }})</li>{% endfor %}</ul>
<h2>Evidence</h2><ul>{% for name, f in files %}<li><a href="evidence/{{ name }}">{{ f.filename }}
</a>{% if f.note %}: {{ f.note }}{% endif %}</li>{% endfor %}</ul>"""

PERSON = """<dl>{% for k, v in details.items() %}<dt>{{ k }}</dt><dd>{{ v }}</dd>{% endfor %}
</dl><h2>Adjustments, vulnerabilities and restrictions</h2><ul>{% for i in items %}
<li>{{ i.kind.value }} (recorded {{ i.recorded_at|when }}, review {{ i.review_on }}{% if
i.ended_at %}, ended {{ i.ended_at|when }}{% endif %}): {{ i.data }}</li>{% endfor %}</ul>"""


@dataclass
class CasePart:
    reference: str
    kind: str
    stage: str
    status: str
    received: datetime
    summary: list[tuple[str, Any]]
    deadlines: list[Any]
    timeline: list[Any]
    letters: list[LetterRow]
    files: list[tuple[str, Any]] = field(default_factory=list)


def _page(title: str, template: str, **context: Any) -> str:
    body = Markup(ENV.from_string(template).render(**context))
    return ENV.from_string(PAGE).render(title=title, body=body)


def references_for(store: RecordsStore, person: str | None, case: str | None) -> list[str]:
    if person:
        page = PersonRecords(store).page(person)
        return [] if page is None else [c.reference for c in page.cases]
    return [case] if case and store.get_case(case) is not None else []


def build(
    store: RecordsStore,
    storage: EvidenceStorage,
    target: Path,
    *,
    person: str | None,
    case: str | None,
    now: datetime,
) -> list[str]:
    """Write the export to `target`; the case references it holds."""
    found: Person | None = PersonRecords(store).person(person) if person else None
    references = references_for(store, person, case)
    evidence = EvidenceStore(store)
    parts: list[CasePart] = []
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for ref in references:
            snap = store.get_case(ref)
            if snap is None:
                continue
            data = snap.data
            who = data.get("resident") or data.get("enquirer") or {}
            letters = [r for r in store.letters(ref) if r.sent and r.recipient_role == "resident"]
            part = CasePart(
                reference=ref,
                kind=snap.kind,
                stage=snap.stage,
                status=snap.status,
                received=snap.received_at,
                summary=[
                    ("Reference", ref),
                    ("Kind", snap.kind),
                    ("Received", snap.received_at.strftime("%d %B %Y %H:%M UTC")),
                    ("Closed", snap.closed_at.strftime("%d %B %Y") if snap.closed_at else "open"),
                    ("Stage and status", f"{snap.stage} / {snap.status}"),
                    ("Name", who.get("name")),
                    ("Email", who.get("email")),
                    ("Phone", who.get("phone")),
                    ("Address", who.get("address")),
                    ("What it is about", data.get("description") or data.get("message")),
                    ("Points", data.get("points")),
                    ("Outcome sought", data.get("outcome_sought")),
                ],
                deadlines=store.clocks(ref),
                timeline=store.events(ref),
                letters=letters,
            )
            for n, f in enumerate(evidence.for_case(ref, snap.linked_references).files, 1):
                name = f"{n}-{f.download_name}"
                out.writestr(f"cases/{ref}/evidence/{name}", storage.get(f.sha256))
                part.files.append((name, f))
            for letter in letters:
                out.writestr(
                    f"cases/{ref}/letters/{letter.letter_key}.html", letter.body_html or ""
                )
            out.writestr(
                f"cases/{ref}/record.html",
                _page(f"Case {ref}", RECORD, **part.__dict__),
            )
            parts.append(part)
        if found is not None:
            out.writestr(
                "person.html",
                _page(
                    f"Person record {found.reference}",
                    PERSON,
                    details=found.details.model_dump(mode="json"),
                    items=found.items,
                ),
            )
        out.writestr(
            "index.html",
            _page("Subject access export", INDEX, made=now, person=found, cases=parts),
        )
    return [p.reference for p in parts]
