"""`python -m starter` for enquiries, as a separate process against a Temporal dev server and
`python -m worker`, as staff use it: lodge-enquiry, and step / status on an ENQ- reference."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from activities.deadlines import calendar_from_settings
from config import Settings
from domain.enquiry import EnquiryChannel, EnquiryState, enquiry_workflow_id
from records.store import RecordsStore
from tests import test_stack
from tests.support import clock, settle
from tests.test_stack import ok, starter

# the stack's fixtures, shared with tests/test_stack.py (a dev server per module)
dev_env = test_stack.dev_env
stack_env = test_stack.stack_env
worker_process = test_stack.worker_process

# An hour ago (the starter refuses a time in the future): a letter is due 5 working days on.
RECEIVED = (datetime.now(UTC) - timedelta(hours=1)).replace(second=0, microsecond=0)
LETTER_DUE = calendar_from_settings(Settings()).due_after(RECEIVED, 5).date()


async def test_lodge_a_letter_enquiry_and_see_its_five_working_day_clock(
    dev_env, stack_env, worker_process
):
    out = ok(
        starter(
            stack_env,
            "lodge-enquiry",
            "--channel", "letter",
            "--name", "Ann Example",
            "--address-line", "1 High Street",
            "--address-line", "Sevenoaks",
            "--postcode", "TN13 1AA",
            "--received-at", RECEIVED.isoformat(),
            "--subject", "Rent statement",
            "--message", "Please send me a copy of my rent statement.",
        )
    )  # fmt: skip
    reference = out.strip()
    assert reference.startswith("ENQ-")
    case = await settle(dev_env.client.get_workflow_handle(enquiry_workflow_id(reference)))
    assert case.channel is EnquiryChannel.letter
    assert case.enquirer.preferred_contact == "post"  # no email: letters by post
    assert clock(case, "enquiry_reply").due_day == LETTER_DUE

    shown = ok(starter(stack_env, "status", reference))
    assert f"{reference}  enquiry / open" in shown
    assert "channel: Letter" in shown
    assert "Reply to the enquiry" in shown and f"due {LETTER_DUE:%a %d %b %Y}  open" in shown
    as_json = json.loads(ok(starter(stack_env, "status", reference, "--json")))
    assert as_json["kind"] == "enquiry" and as_json["reference"] == reference

    # a complaint's step on an enquiry is bad input, naming the step; an enquiry step works
    wrong = starter(stack_env, "step", reference, "acknowledge", "--by", "jo.officer")
    assert wrong.returncode == 2
    assert "step: 'acknowledge' is not a step for an enquiry" in wrong.stderr
    closed = ok(
        starter(stack_env, "step", reference, "reply", "--by", "ali.advisor",
                "--set", "message=Your statement is in the post.", "--set", "via=letter")
    )  # fmt: skip
    assert "enquiry / closed (answered)" in closed
    refused = starter(stack_env, "step", reference, "close", "--by", "ali.advisor",
                      "--set", "reason=Done")  # fmt: skip
    assert refused.returncode == 1 and refused.stderr.startswith("refused: ")
    case = await settle(dev_env.client.get_workflow_handle(enquiry_workflow_id(reference)))
    assert case.state is EnquiryState.closed
    store = RecordsStore(stack_env["DATABASE_URL"])
    record = store.get_case(reference)
    assert record is not None and record.kind == "enquiry"


async def test_lodge_an_enquiry_from_json_on_stdin(dev_env, stack_env, worker_process):
    enquiry = {
        "channel": "callback",
        "enquirer": {"name": "Ann Example", "phone": "07700 900123"},
        "received_at": RECEIVED.isoformat(),  # JSON: with its offset
        "subject": "Call back about my tenancy",
        "message": "Asked for Jo Officer, who was out.",
        "callback_from": {"id": "jo.officer", "name": "Jo Officer", "email": "jo@wkha.example"},
    }
    reference = ok(starter(stack_env, "lodge-enquiry", "--json", "-", stdin=json.dumps(enquiry)))
    case = await settle(dev_env.client.get_workflow_handle(enquiry_workflow_id(reference.strip())))
    assert case.channel is EnquiryChannel.callback
    assert case.owner is not None and case.owner.id == "jo.officer"


def test_bad_enquiry_input_exits_2_naming_the_field(stack_env):
    bad = starter(stack_env, "lodge-enquiry", "--channel", "fax", "--name", "Ann")
    assert bad.returncode == 2 and "--channel" in bad.stderr
    bad = starter(stack_env, "lodge-enquiry", "--channel", "letter", "--name", "Ann",
                  "--email", "not-an-email", "--subject", "x", "--message", "y")  # fmt: skip
    assert bad.returncode == 2 and "enquirer.email" in bad.stderr
    bad = starter(stack_env, "lodge-enquiry", "--channel", "callback", "--name", "Ann",
                  "--phone", "07700 900123", "--subject", "x", "--message", "y")  # fmt: skip
    assert bad.returncode == 2 and "callback_from" in bad.stderr
    bad = starter(stack_env, "lodge-enquiry", "--channel", "letter", "--name", "Ann",
                  "--email", "a@example.org", "--subject", "x", "--message", "y",
                  "--received-at", "yesterday")  # fmt: skip
    assert bad.returncode == 2 and "--received-at" in bad.stderr
    unreachable = starter(
        {**stack_env, "TEMPORAL_ADDRESS": "127.0.0.1:1"}, "status", "ENQ-0000-0000"
    )
    assert unreachable.returncode == 1 and "Cannot reach Temporal" in unreachable.stderr
