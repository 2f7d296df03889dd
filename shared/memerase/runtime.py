"""Cached, lazily built services for Lambda handlers: built once per container, from the one settings object."""

from __future__ import annotations

import os
from functools import lru_cache

from memerase.api.keys import ApiKeyStore
from memerase.engine import Eraser
from memerase.errors import ConfigError
from memerase.jobs.events import EventPublisher
from memerase.jobs.launcher import JobLauncher
from memerase.jobs.repository import JobsTable
from memerase.jobs.steps import JobSteps
from memerase.service import build_eraser
from memerase.settings import JobsConfig, Settings, load_settings

ADMIN_KEY_ENV = "MEMERASE_API_KEY"


@lru_cache(maxsize=1)
def settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def eraser() -> Eraser:
    return build_eraser(settings())


def jobs_config() -> JobsConfig:
    config = settings().jobs
    if config is None:
        raise ConfigError("the configuration has no `jobs` section (jobs table, state machine)")
    return config


@lru_cache(maxsize=1)
def job_steps() -> JobSteps:
    config = jobs_config()
    return JobSteps(
        eraser(),
        JobsTable(config.table_name, config.region_name),
        EventPublisher(config.event_bus_name, config.region_name),
        config,
    )


@lru_cache(maxsize=1)
def launcher() -> JobLauncher:
    config = jobs_config()
    return JobLauncher(
        eraser(), JobsTable(config.table_name, config.region_name), job_steps(), config.state_machine_arn
    )


@lru_cache(maxsize=1)
def api_keys() -> ApiKeyStore:
    config = settings().api
    return ApiKeyStore(config.keys_table_name, config.region_name, admin_key=os.environ.get(ADMIN_KEY_ENV) or None)


def reset() -> None:
    """Forget every cached service (tests, and `memerase serve` after a configuration change)."""
    for cached in (settings, eraser, job_steps, launcher, api_keys):
        cached.cache_clear()
