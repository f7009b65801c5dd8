"""`python -m starter` given a reference that matches no case says so plainly, "no case with
reference ...", not "refused: ..." (there was nothing to refuse it), and exits 1; a step on a
case that has ended is refused, saying that the case has ended. Run as separate processes
against a Temporal dev server and `python -m worker`, as staff use them."""

from __future__ import annotations

from domain.enquiry import enquiry_workflow_id
from tests import test_stack
from tests.test_stack import ok, starter

# the stack's fixtures, shared with tests/test_stack.py (a dev server per module)
dev_env = test_stack.dev_env
stack_env = test_stack.stack_env
worker_process = test_stack.worker_process


def test_a_reference_that_matches_no_case(dev_env, stack_env, worker_process):
    for args in (
        ("status", "CMP-0000-0000"),
        ("status", "ENQ-0000-0000", "--json"),
        ("step", "CMP-0000-0000", "accept", "--by", "jo.officer"),
        ("step", "ENQ-0000-0000", "close", "--by", "jo.officer", "--set", "reason=Duplicate"),
    ):
        result = starter(stack_env, *args)
        assert result.returncode == 1, args
        assert result.stderr == f"no case with reference {args[1]}\n", args
        assert result.stdout == ""
    # typed in lower case, as from a letter: the reference is still the one named
    result = starter(stack_env, "status", " cmp-0000-0000 ")
    assert (result.returncode, result.stderr) == (1, "no case with reference CMP-0000-0000\n")


async def test_a_reference_typed_in_lower_case_finds_its_case(dev_env, stack_env, worker_process):
    reference = ok(starter(stack_env, "lodge-enquiry", "--channel", "phone", "--name", "Ann",
                           "--phone", "07700 900123", "--subject", "Bins",
                           "--message", "When are the bins collected?")).strip()  # fmt: skip
    shown = ok(starter(stack_env, "status", reference.lower()))
    assert shown.startswith(f"{reference}  enquiry / open\n")


async def test_a_step_on_a_case_that_has_ended(dev_env, stack_env, worker_process):
    reference = ok(starter(stack_env, "lodge-enquiry", "--channel", "phone", "--name", "Ann",
                           "--phone", "07700 900123", "--subject", "Bins",
                           "--message", "When are the bins collected?")).strip()  # fmt: skip
    ok(starter(stack_env, "step", reference, "close", "--by", "ali.advisor",
               "--set", "reason=Duplicate of another enquiry"))  # fmt: skip
    # the workflow ends once its letters and record are done: wait for that, not for a time
    await dev_env.client.get_workflow_handle(enquiry_workflow_id(reference)).result()
    again = starter(stack_env, "step", reference, "close", "--by", "ali.advisor",
                    "--set", "reason=Duplicate")  # fmt: skip
    assert again.returncode == 1
    assert again.stderr.startswith(
        f"refused: case {reference} has ended: no more steps can be taken on it"
    )
    # its status is still there to read
    assert "enquiry / closed" in ok(starter(stack_env, "status", reference))
