"""The task inputs: the payloads the state machine sends to its task functions, validated at the edge."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from memerase.jobs.models import WorkItem


class JobTask(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="ignore")

    job_id: str = Field(min_length=1, max_length=80)
    execution: str | None = Field(None, max_length=2048, description="the Step Functions execution running the job")


class EraseTask(JobTask):
    item: WorkItem


class FailTask(JobTask):
    error: str = "Unknown"
    cause: str = ""
