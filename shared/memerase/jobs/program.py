"""The erasure job's program (infra/erasure_job.asl.json) run in this process, state by state, with the same steps
the state machine's tasks call. `tests/unit/test_job_program.py` checks that the two name the same states, in the
same order, with the same transitions.

  Plan Work → Erase Work Items (Erase Pages until Work Item Done?) → Verify Erasure → Erasure Clean?
    clean → Finalize Job;  retry → Plan Work;  otherwise → Verification Failed → Record Failure → Erasure Failed
  any failure → Record Failure → Erasure Failed
"""

from __future__ import annotations

from memerase.errors import TransitionLost, TransitionNotAllowed, VerificationFailed
from memerase.jobs.steps import JobSteps

STATES = (
    "Plan Work",
    "Erase Work Items",
    "Erase Pages",
    "Work Item Done?",
    "Verify Erasure",
    "Erasure Clean?",
    "Finalize Job",
    "Verification Failed",
    "Record Failure",
    "Erasure Failed",
)
NO_DEADLINE = 1 << 30  # ms: a worker in this process pages on until its item is done


def _no_deadline() -> int:
    return NO_DEADLINE


def run(steps: JobSteps, job_id: str) -> None:
    """Run the job to its end. A job another request stopped (a cancel) ends quietly; a failure is recorded (Record
    Failure) and raised (Erasure Failed)."""
    try:
        _states(steps, job_id)
    except (TransitionLost, TransitionNotAllowed):
        return  # another request moved the job (a cancel): its record says what happened
    except Exception as exc:
        steps.fail(job_id, type(exc).__name__, str(exc))  # Record Failure
        raise  # Erasure Failed


def _states(steps: JobSteps, job_id: str) -> None:
    while True:
        items = steps.plan(job_id)  # Plan Work
        if not items and not steps.running(job_id):
            return
        for item in items:  # Erase Work Items
            while not steps.erase(job_id, item, _no_deadline):  # Erase Pages, Work Item Done?
                pass
        verdict = steps.verify(job_id)  # Verify Erasure
        if verdict.clean:  # Erasure Clean?
            steps.finalize(job_id)  # Finalize Job
            return
        if not verdict.retry:
            raise VerificationFailed(verdict.unverified())  # Verification Failed
