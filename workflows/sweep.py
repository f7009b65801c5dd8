"""DailySweepWorkflow: the daily sweep of open complaints, started by the `daily-sweep` Schedule
(working days 07:00 Europe/London; see worker/setup.py).

The schedule fires Monday to Friday; the workflow asks an activity whether the day is a working
day (bank holidays and closure days are not) and otherwise returns at once. On a working day it
runs the sweep (visibility queries, report kept in the records database) and then emails the
report. Deterministic, no I/O: everything is done by activities.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.sweep import (
        DailySweep,
        SweepEmailed,
        SweepReport,
        SweepRequest,
        SweepResult,
        WorkingDayAnswer,
        WorkingDayQuestion,
    )

SCHEDULE_ID = "daily-sweep"
QUICK_TIMEOUT = timedelta(seconds=10)
SWEEP_TIMEOUT = timedelta(minutes=2)
EMAIL_TIMEOUT = timedelta(minutes=2)
SWEEP_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
# Keep trying to send the report through the working day; tomorrow's sweep supersedes it.
EMAIL_GIVE_UP_AFTER = timedelta(hours=10)


@workflow.defn
class DailySweepWorkflow:
    @workflow.run
    async def run(self, sweep: DailySweep) -> SweepResult:
        answer = await workflow.execute_activity(
            "sweep_is_working_day",
            WorkingDayQuestion(day=sweep.day, at=workflow.now()),
            result_type=WorkingDayAnswer,
            start_to_close_timeout=QUICK_TIMEOUT,
            retry_policy=SWEEP_RETRY,
        )
        if not answer.working:
            return SweepResult(
                day=answer.day,
                swept=False,
                message=f"{answer.day:%a %d %b %Y} is not a working day ({answer.reason}): "
                "no sweep",
            )
        request = SweepRequest(day=answer.day)
        report = await workflow.execute_activity(
            "run_sweep",
            request,
            result_type=SweepReport,
            start_to_close_timeout=SWEEP_TIMEOUT,
            retry_policy=SWEEP_RETRY,
        )
        emailed = await workflow.execute_activity(
            "email_sweep_report",
            request,
            result_type=SweepEmailed,
            start_to_close_timeout=EMAIL_TIMEOUT,
            schedule_to_close_timeout=EMAIL_GIVE_UP_AFTER,
            retry_policy=SWEEP_RETRY,
        )
        return SweepResult(
            day=answer.day,
            swept=True,
            message=report.subject,
            overdue=report.overdue.total,
            at_risk=report.at_risk.total,
            letters_failing=report.letters_failing.total,
            emailed=emailed.recipients,
        )
