"""`python -m starter`: lodge complaints and enquiries, perform staff steps and show a case.

    python -m starter lodge --name "Ann Example" --email ann@example.org --channel phone \\
        --description "Repair not done" --point "Boiler repair missed twice"
    python -m starter lodge --json examples/complaint.json --submission-key intake-2026-0412
    python -m starter lodge-enquiry --channel letter --name "Ann Example" \\
        --address-line "1 High Street" --address-line Sevenoaks --postcode "TN13 1AA" \\
        --subject "Rent statement" --message "Please send my rent statement."
    python -m starter lodge-enquiry --json examples/enquiry.json
    python -m starter step CMP-ABCD-EFGH accept --by jo.officer --set category=repairs
    python -m starter step CMP-ABCD-EFGH acknowledge --by jo.officer \\
        --json examples/acknowledge.json
    python -m starter step ENQ-ABCD-EFGH reply --by ali.advisor --set message="Sent today"
    python -m starter status ENQ-ABCD-EFGH
    python -m starter report promises --from 2027-04-01 --to 2028-03-31 --json

`step` and `status` take either kind of case: a reference starting ENQ- is an enquiry, any other
a complaint; the steps each allows differ (see `step --help`).

`lodge` and `lodge-enquiry` go through `lodge_once`, as every intake does: a `--received-at` in
the future is refused, and with `--submission-key` running the same command again prints the
reference of the case the first run lodged instead of lodging another.

A reference that matches no case prints `no case with reference CMP-...` (exit 1); a step on a
case that has ended is refused: `refused: case CMP-... has ended: ...` (exit 1).

Exit codes: 0 done, 1 the case refused the step, was not found or Temporal could not be reached,
2 bad input (the message names the field or flag).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from config import ConfigError, Settings
from domain.clocks import Clock
from domain.complaint import STEP_MODELS, ComplaintStatus, LodgeComplaint, Tenure, workflow_id
from domain.enquiry import (
    CHANNEL_LABELS,
    ENQUIRY_STEP_MODELS,
    EnquiryChannel,
    EnquiryStatus,
    LodgeEnquiry,
    enquiry_workflow_id,
)
from domain.intake import ReceivedInFuture, check_received_at
from domain.people import Channel, ComplainantType, ContactMethod
from starter.reports import ReportInputError, add_report_parser, run_report
from worker.client import (
    PayloadKeysMissing,
    TemporalUnreachable,
    connect,
    exit_now,
    with_payload_keys,
)
from worker.codec import PayloadKeyError
from workflows.cases import (
    CaseNotFound,
    ReferencesTaken,
    StepRejected,
    describe_validation_error,
    enquiry_status,
    is_enquiry,
    lodge_once,
    new_complaint_reference,
    new_enquiry_reference,
    perform_enquiry_step,
    perform_step,
    status,
)

LONDON = ZoneInfo("Europe/London")


# every step of either kind of case; which applies depends on the reference (see run)
STEP_CHOICES = sorted({s.value for s in STEP_MODELS} | {s.value for s in ENQUIRY_STEP_MODELS})


SUBMISSION_KEY_HELP = (
    "a key made once for this case (a form's number, a ticket id): the reference is derived from "
    "it, so running the command again finds the case instead of lodging another"
)


class BadInput(Exception):
    pass


class NoSuchCase(Exception):
    """The reference matches no case, or (for a step) only one that has ended: said plainly,
    not as the case refusing something."""


async def _no_such_case(
    client: Client, reference: str, enquiry_case: bool
) -> NoSuchCase | StepRejected:
    """Why Temporal found no case to take a step: the reference matches none, or its case has
    ended, which refuses every step (`status` still shows an ended case)."""
    wid = enquiry_workflow_id(reference) if enquiry_case else workflow_id(reference)
    try:
        await client.get_workflow_handle(wid).describe()
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            return NoSuchCase(f"no case with reference {reference}")
        raise
    return StepRejected(
        f"case {reference} has ended: no more steps can be taken on it "
        f"(`python -m starter status {reference}` shows how it ended)"
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m starter", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    lo = sub.add_parser("lodge", help="lodge a complaint and print its reference")
    lo.add_argument("--json", type=Path, help="a JSON file with the whole complaint (- for stdin)")
    lo.add_argument("--reference", help="normally generated")
    lo.add_argument("--submission-key", help=SUBMISSION_KEY_HELP)
    lo.add_argument("--name")
    lo.add_argument("--email")
    lo.add_argument("--phone")
    lo.add_argument("--address-line", action="append", dest="address_lines", default=[])
    lo.add_argument("--postcode")
    lo.add_argument("--preferred-contact", choices=[c.value for c in ContactMethod])
    lo.add_argument("--complainant-type", choices=[c.value for c in ComplainantType])
    lo.add_argument("--third-party-consent", action="store_true", default=None)
    lo.add_argument("--acting-for")
    lo.add_argument("--adjustments", help="reasonable adjustments the resident needs")
    lo.add_argument("--channel", choices=[c.value for c in Channel])
    lo.add_argument(
        "--received-at",
        help="when the resident got in touch, ISO 8601 (no offset = UK time), not in the "
        "future; default now",
    )
    lo.add_argument("--description")
    lo.add_argument("--point", action="append", dest="points", default=[])
    lo.add_argument("--outcome", help="the outcome the resident is looking for")
    lo.add_argument("--incident-date", help="YYYY-MM-DD")
    lo.add_argument("--aware-date", help="YYYY-MM-DD: when the resident became aware")
    lo.add_argument("--tenure", choices=[t.value for t in Tenure], help="the complainant's")
    lo.add_argument("--property-reference", help="the property or tenancy reference")
    lo.add_argument("--lodged-by", help="staff id")

    le = sub.add_parser("lodge-enquiry", help="lodge an enquiry and print its reference")
    le.add_argument("--json", type=Path, help="a JSON file with the whole enquiry (- for stdin)")
    le.add_argument("--reference", help="normally generated")
    le.add_argument("--submission-key", help=SUBMISSION_KEY_HELP)
    le.add_argument(
        "--channel",
        choices=[c.value for c in EnquiryChannel],
        help="how the resident got in touch; sets the reply clock (letter, team_email, "
        "callback: 5 working days; the rest: the next working day)",
    )
    le.add_argument("--name")
    le.add_argument("--email")
    le.add_argument("--phone")
    le.add_argument("--address-line", action="append", dest="address_lines", default=[])
    le.add_argument("--postcode")
    le.add_argument("--social-handle")
    le.add_argument("--preferred-contact", choices=[c.value for c in ContactMethod])
    le.add_argument("--adjustments", help="reasonable adjustments the resident needs")
    le.add_argument(
        "--received-at",
        help="when the resident got in touch, ISO 8601 (no offset = UK time), not in the "
        "future; default now",
    )
    le.add_argument("--subject")
    le.add_argument("--message")
    le.add_argument("--addressed-to", help="the team or person the resident wrote to or asked for")
    le.add_argument(
        "--executive",
        action="store_true",
        default=None,
        help="addressed to the chief executive or a director: routed to the resolution team",
    )
    le.add_argument(
        "--public-post",
        action="store_true",
        default=None,
        help="social_media only: posted publicly, not a private message",
    )
    le.add_argument("--callback-from-id", help="callback: staff id of the person asked for")
    le.add_argument("--callback-from-name")
    le.add_argument("--callback-from-email")
    le.add_argument("--returns-on", help="callback: YYYY-MM-DD the person asked for is back")
    le.add_argument("--lodged-by", help="staff id")

    st = sub.add_parser(
        "step",
        help="perform a staff step on a case",
        description="Perform a staff step. Complaint steps: "
        + ", ".join(STEP_MODELS)
        + ". Enquiry (ENQ-) steps: "
        + ", ".join(ENQUIRY_STEP_MODELS)
        + ".",
    )
    st.add_argument("reference", help="CMP-... for a complaint, ENQ-... for an enquiry")
    st.add_argument("step", choices=STEP_CHOICES, metavar="STEP", help="one of the steps above")
    st.add_argument("--json", type=Path, help="the step's fields as a JSON file (- for stdin)")
    st.add_argument("--by", help="staff id of who does the step")
    st.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="a field of the step (VALUE parsed as JSON where it can be)",
    )

    add_report_parser(sub)

    ss = sub.add_parser("status", help="show a case (a complaint or an enquiry)")
    ss.add_argument("reference", help="CMP-... for a complaint, ENQ-... for an enquiry")
    ss.add_argument("--json", action="store_true", help="print the whole status as JSON")
    return p


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text()
    except OSError as err:
        raise BadInput(f"--json: cannot read {path}: {err.strerror}") from err
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise BadInput(f"--json: {path} is not valid JSON ({err.msg}, line {err.lineno})") from err
    if not isinstance(data, dict):
        raise BadInput(f"--json: {path} must hold a JSON object")
    return data


def _received_at(text: str | None) -> str:
    if not text:
        return datetime.now(LONDON).isoformat()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as err:
        raise BadInput(
            f"--received-at: '{text}' is not a date and time; use e.g. 2026-12-18T17:05"
        ) from err
    return (moment if moment.tzinfo else moment.replace(tzinfo=LONDON)).isoformat()


def _no_reference_with_key(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.submission_key is not None and not args.submission_key.strip():
        raise BadInput("--submission-key: give a key, or leave the flag out")
    if args.submission_key and data.get("reference"):
        raise BadInput(
            "--submission-key: leave out the reference (--reference or the JSON's); "
            "it is derived from the key"
        )


def complaint_from_args(args: argparse.Namespace) -> LodgeComplaint:
    data: dict[str, Any] = _read_json(args.json) if args.json else {}
    resident: dict[str, Any] = dict(data.get("resident", {}))
    for field, value in (
        ("name", args.name),
        ("email", args.email),
        ("phone", args.phone),
        ("preferred_contact", args.preferred_contact),
        ("complainant_type", args.complainant_type),
        ("third_party_consent", args.third_party_consent),
        ("acting_for", args.acting_for),
        ("reasonable_adjustments", args.adjustments),
    ):
        if value is not None:
            resident[field] = value
    if args.address_lines or args.postcode:
        resident["address"] = {"lines": args.address_lines, "postcode": args.postcode}
    if "preferred_contact" not in resident and "email" not in resident and "address" in resident:
        resident["preferred_contact"] = "post"
    data["resident"] = resident
    for field, value in (
        ("reference", args.reference),
        ("channel", args.channel),
        ("description", args.description),
        ("outcome_sought", args.outcome),
        ("incident_date", args.incident_date),
        ("became_aware_date", args.aware_date),
        ("tenure", args.tenure),
        ("property_reference", args.property_reference),
        ("lodged_by", args.lodged_by),
    ):
        if value is not None:
            data[field] = value
    if args.points:
        data["points"] = args.points
    _no_reference_with_key(args, data)
    data.setdefault("reference", new_complaint_reference())
    if args.received_at or "received_at" not in data:
        data["received_at"] = _received_at(args.received_at)
    return LodgeComplaint.model_validate(data)


def enquiry_from_args(args: argparse.Namespace) -> LodgeEnquiry:
    data: dict[str, Any] = _read_json(args.json) if args.json else {}
    enquirer: dict[str, Any] = dict(data.get("enquirer", {}))
    for field, value in (
        ("name", args.name),
        ("email", args.email),
        ("phone", args.phone),
        ("social_handle", args.social_handle),
        ("preferred_contact", args.preferred_contact),
        ("reasonable_adjustments", args.adjustments),
    ):
        if value is not None:
            enquirer[field] = value
    if args.address_lines or args.postcode:
        enquirer["address"] = {"lines": args.address_lines, "postcode": args.postcode}
    data["enquirer"] = enquirer
    callback: dict[str, Any] = dict(data.get("callback_from") or {})
    for field, value in (
        ("id", args.callback_from_id),
        ("name", args.callback_from_name),
        ("email", args.callback_from_email),
    ):
        if value is not None:
            callback[field] = value
    if callback:
        data["callback_from"] = callback
    for field, value in (
        ("reference", args.reference),
        ("channel", args.channel),
        ("subject", args.subject),
        ("message", args.message),
        ("addressed_to", args.addressed_to),
        ("addressed_to_executive", args.executive),
        ("public_post", args.public_post),
        ("callback_from_returns_on", args.returns_on),
        ("lodged_by", args.lodged_by),
    ):
        if value is not None:
            data[field] = value
    _no_reference_with_key(args, data)
    data.setdefault("reference", new_enquiry_reference())
    if args.received_at or "received_at" not in data:
        data["received_at"] = _received_at(args.received_at)
    return LodgeEnquiry.model_validate(data)


def step_payload(args: argparse.Namespace) -> dict[str, Any]:
    data: dict[str, Any] = _read_json(args.json) if args.json else {}
    if args.by:
        data["by"] = args.by
    for item in args.set:
        field, sep, raw = item.partition("=")
        if not sep or not field:
            raise BadInput(f"--set: '{item}' should look like FIELD=VALUE")
        try:
            data[field] = json.loads(raw)
        except json.JSONDecodeError:
            data[field] = raw
    return data


def show(case: ComplaintStatus | EnquiryStatus) -> str:
    if isinstance(case, EnquiryStatus):
        return show_enquiry(case)
    lines = [
        f"{case.reference}  {case.stage.value} / {case.status.value}"
        + (f" ({case.closure_reason.value})" if case.closure_reason else ""),
        f"owner: {case.owner.name + ' (' + case.owner.id + ')' if case.owner else 'unassigned'}",
        f"overdue: {'YES' if case.overdue else 'no'}",
        "deadlines:",
        *_clock_lines(case.clocks),
    ]
    lines.append("steps possible now: " + (", ".join(case.allowed_steps) or "none"))
    lines.append("timeline:")
    lines += [f"  {t.at:%Y-%m-%d %H:%M}Z  {t.summary}" for t in case.timeline]
    return "\n".join(lines)


def show_enquiry(case: EnquiryStatus) -> str:
    received = f"{case.received_at.astimezone(LONDON):%a %d %b %Y %H:%M}"
    if case.received_on and case.received_on != case.received_at.astimezone(LONDON).date():
        received += f" (counts as {case.received_on:%a %d %b %Y})"
    lines = [
        f"{case.reference}  enquiry / {case.state.value}"
        + (f" ({case.outcome.value})" if case.outcome else ""),
        f"channel: {CHANNEL_LABELS[case.channel]}"
        + (f", to {case.addressed_to}" if case.addressed_to else "")
        + (" (chief executive or a director)" if case.addressed_to_executive else ""),
        f"received: {received}",
        f"owner: {case.owner.name + ' (' + case.owner.id + ')' if case.owner else 'unassigned'}"
        + (f"; team: {case.team}" if case.team else ""),
        f"overdue: {'YES' if case.overdue else 'no'}",
        "deadlines:",
        *_clock_lines(case.clocks),
        "steps possible now: " + (", ".join(case.allowed_steps) or "none"),
        "timeline:",
        *(f"  {t.at:%Y-%m-%d %H:%M}Z  {t.summary}" for t in case.timeline),
    ]
    return "\n".join(lines)


def _clock_lines(clocks: list[Clock]) -> list[str]:
    lines = []
    for c in clocks:
        state = (
            "met"
            if c.met_at
            else "lapsed"
            if c.lapsed_at
            else "stopped"
            if c.stopped_at
            else "open"
        )
        flag = " BREACHED" if c.breached_at else ""
        lines.append(f"  {c.label:<34} due {c.due_day:%a %d %b %Y}  {state}{flag}")
    return lines


async def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in ("lodge", "lodge-enquiry"):
        new_case = complaint_from_args(args) if args.command == "lodge" else enquiry_from_args(args)
        now = datetime.now(UTC)
        check_received_at(new_case.received_at, now)  # bad input: before connecting
        policy = settings.policy
        client = await connect(settings)
        result = await lodge_once(
            client,
            new_case,
            settings.task_queue,
            policy=policy,
            submission_key=(args.submission_key or "").strip() or None,
            now=now,
        )
        print(result.reference)
        if not result.created:
            print(
                f"already lodged: {result.kind} {result.reference} was lodged with this "
                "--submission-key before; nothing new was started",
                file=sys.stderr,
            )
        return 0
    args.reference = args.reference.strip().upper()  # as typed from a letter: cmp-7kq3-xm2p
    enquiry_case = is_enquiry(args.reference)
    if args.command == "step":
        allowed = ENQUIRY_STEP_MODELS if enquiry_case else STEP_MODELS
        if args.step not in allowed:
            kind = "an enquiry" if enquiry_case else "a complaint"
            raise BadInput(
                f"step: '{args.step}' is not a step for {kind} ({args.reference}); "
                f"choose from {', '.join(allowed)}"
            )
        payload = step_payload(args)
        client = await connect(settings)
        perform = perform_enquiry_step if enquiry_case else perform_step
        try:
            await perform(client, args.reference, args.step, payload)
            # the Update answers where the case stands; the whole case, as shown, is the query
            case: ComplaintStatus | EnquiryStatus = await (
                enquiry_status if enquiry_case else status
            )(client, args.reference)
        except CaseNotFound:
            raise await _no_such_case(client, args.reference, enquiry_case) from None
        print(show(case))
        return 0
    client = await connect(settings)
    try:
        case = await (enquiry_status if enquiry_case else status)(client, args.reference)
    except CaseNotFound:
        raise NoSuchCase(f"no case with reference {args.reference}") from None
    print(case.model_dump_json(indent=2) if args.json else show(case))
    return 0


def settings_address() -> str:
    return Settings.from_env().temporal_address


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "report":  # the records database only: no Temporal, no payload keys
            print(run_report(args, Settings.load()))
            return 0
        return asyncio.run(run(args, with_payload_keys(Settings.load())))
    except (
        BadInput,
        PayloadKeysMissing,
        PayloadKeyError,
        ReceivedInFuture,
        ConfigError,
        ReportInputError,
    ) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except ValidationError as err:
        for line in describe_validation_error(err):
            print(f"error: {line}", file=sys.stderr)
        return 2
    except NoSuchCase as err:
        print(err, file=sys.stderr)
        return 1
    except (StepRejected, CaseNotFound, ReferencesTaken) as err:
        print(f"refused: {err}", file=sys.stderr)
        return 1
    except WorkflowAlreadyStartedError as err:
        print(
            f"refused: there is already a case with reference {err.workflow_id.split('-', 1)[-1]}; "
            "leave out --reference to get a new one",
            file=sys.stderr,
        )
        return 1
    except TemporalUnreachable as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    except OperationalError as err:
        print(
            f"error: the records database (DATABASE_URL) did not answer: {type(err.orig).__name__}",
            file=sys.stderr,
        )
        return 1
    except WorkflowQueryFailedError as err:
        print(
            f"error: the case already lodged with this --submission-key did not answer ({err}); "
            "is the worker running?",
            file=sys.stderr,
        )
        return 1
    except RPCError as err:
        print(
            f"error: Temporal at {settings_address()} answered: {err.message}. If the case's "
            "workflow task is failing, look at the worker's log and the case in the Web UI.",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    exit_now(main())
