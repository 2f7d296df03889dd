"""The composition root: the one place the settings object is turned into services (the engine with its stores and
history, the jobs table, the job lifecycle, steps, runner and intake, the API keys). Handlers, the API and the CLI
take their services from here; the cached ones are built once per Lambda container.

Each service's modules are imported where it is built, so a handler loads only the services it asks for (the
authorizer the key store, the memories API no job machinery)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from memerase.errors import ConfigError

if TYPE_CHECKING:
    from memerase.engine import Eraser
    from memerase.fingerprint import ScopeHasher
    from memerase.jobs.intake import JobIntake
    from memerase.jobs.lifecycle import JobLifecycle
    from memerase.jobs.queue_requests import RequestIntake
    from memerase.jobs.repository import JobsTable
    from memerase.jobs.runners import JobRunner
    from memerase.jobs.steps import JobSteps
    from memerase.jobs.tally import JobTally
    from memerase.keys import ApiKeyStore
    from memerase.settings import JobsConfig, Settings

ADMIN_KEY_ENV = "MEMERASE_API_KEY"


@lru_cache(maxsize=1)
def settings() -> Settings:
    from memerase.settings import load_settings  # its models are built when the configuration is first read

    return load_settings()


def build_eraser(config: Settings) -> Eraser:
    """A new engine for these settings: every target's stores, and the history table when one is configured."""
    from memerase.engine import Eraser
    from memerase.history import HistoryStore
    from memerase.stores.factory import build_target

    history = HistoryStore(config.history.table_name, config.history.region_name) if config.history else None
    targets = [build_target(t) for t in config.targets]
    return Eraser(targets, history=history, allow_reset=config.allow_reset, hasher=hasher)


@lru_cache(maxsize=1)
def hasher() -> ScopeHasher:
    """The one scope hasher, its key read once per process (Secrets Manager, deployed). Built only when a scope is
    hashed, so functions that never hash one never read the secret."""
    from memerase.scope_key import load_hasher

    return load_hasher(settings().scope_hash)


@lru_cache(maxsize=1)
def eraser() -> Eraser:
    return build_eraser(settings())


def jobs_config() -> JobsConfig:
    config = settings().jobs
    if config is None:
        raise ConfigError("the configuration has no `jobs` section (jobs table, state machine)")
    return config


@lru_cache(maxsize=1)
def jobs_table() -> JobsTable:
    from memerase.jobs.repository import JobsTable

    config = jobs_config()
    return JobsTable(config.table_name, config.region_name, resume_window_days=config.resume_window_days)


@lru_cache(maxsize=1)
def lifecycle() -> JobLifecycle:
    """The one owner of every job's life: transitions and the effects of a job's end (event, replies, lock)."""
    from memerase.jobs.events import EventPublisher
    from memerase.jobs.lifecycle import JobLifecycle
    from memerase.jobs.queues import Queues
    from memerase.jobs.replies import JobReplies

    config = jobs_config()
    events = EventPublisher(config.event_bus_name, config.region_name)
    return JobLifecycle(jobs_table(), config, events, JobReplies(Queues(config.region_name)))


@lru_cache(maxsize=1)
def tally() -> JobTally:
    from memerase.jobs.tally import JobTally

    return JobTally(jobs_table(), jobs_config().stall_seconds)


@lru_cache(maxsize=1)
def job_steps() -> JobSteps:
    from memerase.jobs.steps import JobSteps

    return JobSteps(eraser(), jobs_table(), lifecycle(), tally(), jobs_config())


@lru_cache(maxsize=1)
def job_runner() -> JobRunner:
    """Step Functions when the configuration names a state machine; else this process (`jobs.program`)."""
    from memerase.jobs import runners

    config = jobs_config()
    if config.state_machine_arn:
        import boto3

        client = boto3.client("stepfunctions", region_name=config.region_name)
        return runners.StepFunctionsRunner(jobs_table(), lifecycle(), config.state_machine_arn, client)
    return runners.InProcessRunner(job_steps(), jobs_table())


@lru_cache(maxsize=1)
def intake() -> JobIntake:
    from memerase.jobs.intake import JobIntake

    return JobIntake(eraser(), jobs_table(), lifecycle(), tally(), job_runner(), hasher=hasher)


@lru_cache(maxsize=1)
def request_intake() -> RequestIntake:
    """SQS erasure requests: the job intake, the allowed reply queues and the dead-letter queue."""
    from memerase.jobs.queue_requests import RequestIntake
    from memerase.jobs.queues import Queues

    config = settings().requests
    return RequestIntake(intake(), config, Queues(config.region_name))


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyStore:
    from memerase.keys import ApiKeyStore

    config = settings().api
    return ApiKeyStore(config.keys_table_name, config.region_name, admin_key=os.environ.get(ADMIN_KEY_ENV) or None)


def reset() -> None:
    """Forget every cached service (tests, and `memerase serve` after a configuration change)."""
    cached_services = (settings, eraser, jobs_table, lifecycle, tally, job_steps, job_runner, intake, request_intake)
    for cached in (*cached_services, api_keys, hasher):
        cached.cache_clear()
