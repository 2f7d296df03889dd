"""The task inputs: the payloads the state machine sends to its task functions, validated at the edge, and the work
item a Map iteration works on (light: the handlers parse it before the job machinery loads)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class WorkItem(BaseModel):
    """One partition of one collection in one verification pass: what a Map iteration works on."""

    model_config = ConfigDict(hide_input_in_errors=True, frozen=True, populate_by_name=True)

    target: str
    role: str
    index: int = 0
    count: int = 1
    pass_no: int = Field(1, alias="pass")

    @property
    def key(self) -> str:
        return f"{self.pass_no:02d}#{self.target}#{self.role}#{self.index:02d}-of-{self.count:02d}"


class JobTask(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True, extra="ignore")

    job_id: str = Field(min_length=1, max_length=80)
    execution: str | None = Field(None, max_length=2048, description="the Step Functions execution running the job")


class EraseTask(JobTask):
    item: WorkItem


class FailTask(JobTask):
    error: str = "Unknown"
    cause: str = ""
