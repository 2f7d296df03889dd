"""The project's own exception types.

Adapters translate client errors into these; handlers map them to HTTP statuses; the state machine's
Retry rules name the retriable ones by class name.
"""

from __future__ import annotations


class MemeraseError(Exception):
    """Base class. `code` is machine-readable, `status` the HTTP status a caller should see."""

    code = "internal_error"
    status = 500


class InvalidRequest(MemeraseError):
    """Bad input: a filter, an id, a configuration value."""

    code = "invalid_request"
    status = 400


class MissingFilter(InvalidRequest):
    """A bulk deletion without any filter. Carries mem0's own message."""

    code = "missing_filter"
    MESSAGE = (
        "At least one filter is required to delete all memories. "
        "If you want to delete all memories, use the `reset()` method."
    )

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class UnscopedCriteria(InvalidRequest):
    """An age or expiry erasure without a user, agent or run filter (every user's memories) from a channel that may
    not ask for one: the API needs an admin key, queue and EventBridge requests `requests.allow_unscoped_criteria`."""

    code = "unscoped_criteria"


class ConfigError(InvalidRequest):
    """The settings object could not be built."""

    code = "invalid_config"


class MemoryNotFound(MemeraseError):
    """An id no store holds, or (for a scoped key) one outside the key's scopes: answered alike, and without the id,
    so the answer never tells a scoped key whether another scope's memory exists."""

    code = "not_found"
    status = 404

    def __init__(self, memory_id: str, among: int = 1, missing: int = 1) -> None:
        del memory_id  # never in the message: the message is the same for every unknown or unreachable id
        if among == 1:
            super().__init__("Memory not found")
        else:
            super().__init__(f"Memories not found: {missing} of {among} ids; nothing deleted")


class OutOfScope(MemeraseError):
    """The caller's scope does not cover what it asked to erase."""

    code = "out_of_scope"
    status = 403


class Unauthorized(MemeraseError):
    """No API key, or not a valid one."""

    code = "unauthorized"
    status = 401


class Forbidden(MemeraseError):
    """A valid key asking for what its scope does not allow."""

    code = "forbidden"
    status = 403


class ResetNotAllowed(MemeraseError):
    code = "reset_not_allowed"
    status = 403


class UnknownTarget(InvalidRequest):
    code = "unknown_target"


class StoreError(MemeraseError):
    """A store failed in a way retrying will not fix."""

    code = "store_error"
    status = 502


class RetryableStoreError(StoreError):
    """Throttling or a transient failure: retry with backoff (the ASL's Retry rules name this class)."""

    code = "store_unavailable"
    status = 503


class Throttled(RetryableStoreError):
    """A store (or the API) is throttling: HTTP 429 with Retry-After; the state machine retries it by name."""

    code = "throttled"
    status = 429


class PayloadTooLarge(MemeraseError):
    """A request over a documented size limit (e.g. more memories in one batch than allowed)."""

    code = "too_large"
    status = 413


class JobNotFound(MemeraseError):
    code = "job_not_found"
    status = 404


class JobConflict(MemeraseError):
    """A job cannot do what was asked in its current status, or the request clashes with an earlier one."""

    code = "job_conflict"
    status = 409


class ScopeBusy(JobConflict):
    """Another job, selecting otherwise (other cutoffs), holds the scope: named, so the caller can follow it."""

    def __init__(self, message: str, job_id: str):
        super().__init__(message)
        self.job_id = job_id


class TransitionNotAllowed(JobConflict):
    """A job status change the job state machine does not allow from the status the job is in."""


class TransitionLost(JobConflict):
    """A job status change lost the race: the stored status changed between reading the job and writing it."""


class VerificationFailed(MemeraseError):
    """The last allowed pass still found records of the scope, or work items that did not finish (the ASL's Fail
    state names this class)."""

    code = "verification_failed"
    status = 500
