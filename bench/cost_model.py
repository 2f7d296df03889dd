"""The cost model of the benchmarks: AWS prices and limits, what an erase page costs on AWS, and the projection of
one bulk erasure job to 10 million memories erased. Pure arithmetic: nothing here runs, measures or prints.

docs/LIMITS.md and bench/README.md quote these figures; tests/unit/test_bench_cost_model.py checks them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from memerase.stores import s3_vectors as s3_adapter

PROJECT_TO = 10_000_000  # memories erased
PER = 10_000  # "per 10,000 memories erased"

# ---- public list prices (US East (N. Virginia), on-demand, free tiers ignored; as published on the AWS pricing
# pages in 2025 -- check https://aws.amazon.com/step-functions/pricing/ and https://aws.amazon.com/lambda/pricing/
# before relying on them) ------------------------------------------------------------------------------------------
SFN_STANDARD_PER_TRANSITION = 0.025 / 1000  # USD per state transition, Standard workflows
LAMBDA_PER_GB_SECOND = 0.0000166667  # USD, x86
LAMBDA_PER_REQUEST = 0.20 / 1_000_000  # USD
# S3 Vectors: storage, PUT (per logical GB) and QueryVectors are priced publicly, but this bench does not know a
# reliable list price for ListVectors / DeleteVectors / GetVectors requests, so S3 Vectors request cost is omitted.

# ---- AWS limits and the assumptions of the AWS model -------------------------------------------------------------
LAMBDA_TIMEOUT_MS = 900_000  # Lambda's maximum timeout (15 min)
TIME_MARGIN_MS = 60_000  # JobsConfig.time_margin_ms default, used unchanged in the emulated job too
LAMBDA_MEMORY_GB = 1.0  # assumed function memory (1024 MB, the local LambdaContext's value)
S3V_VECTORS_PER_S = 2_500  # per index, PutVectors + DeleteVectors combined (documented S3 Vectors limit)
S3V_WRITE_REQUESTS_PER_S = 1_000  # per index, PutVectors + DeleteVectors requests combined
LIST_PAGE = s3_adapter.LIST_PAGE_SIZE  # 1000
DELETE_BATCH = s3_adapter.DELETE_BATCH_SIZE  # 500
DEFAULT_LIST_MS = 150.0  # ASSUMED latency of one ListVectors page (1000 vectors, returnMetadata) -- not measured
DEFAULT_DELETE_MS = 100.0  # ASSUMED latency of one DeleteVectors request (500 keys) -- not measured
DEFAULT_CHECKPOINT_MS = 10.0  # ASSUMED DynamoDB PutItem of the cursor, once per page
SHORT_TASK_S = 1.0  # ASSUMED duration of Plan / Verify / Finalize invocations
SHORT_TASKS = 5  # Plan and Verify per pass (two passes), and Finalize
BUDGET_S = (LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS) / 1000  # what a worker spends before it returns its cursor
HISTORY_EVENTS = 25_000  # per Standard execution, each Distributed Map child included (hard limit)
EVENTS_PER_LOOP = 7  # a worker loop in a child: Task (entered, scheduled, started, succeeded, exited) + Choice (2)


def per(value: float, erased: int) -> float:
    """`value` per 10,000 memories erased."""
    return value * PER / erased if erased else float("nan")


def page_clock_ms(pages_per_invocation: int) -> float:
    """What one list page costs on the emulated page clock, so that an invocation whose clock starts at the Lambda
    timeout stops after `pages_per_invocation` pages (less than the margin is left after that many)."""
    return (LAMBDA_TIMEOUT_MS - TIME_MARGIN_MS) / (pages_per_invocation - 0.5)


def loops_per_work_item() -> int:
    """How many times a work item's worker can loop before its child execution's history is full (no retries)."""
    return HISTORY_EVENTS // EVENTS_PER_LOOP


def minimum_requests(scanned: int, matched: int, page: int, batch: int) -> int:
    """The fewest requests that erase `matched` memories: list every page that must be scanned, delete in full
    batches."""
    return math.ceil(scanned / page) + math.ceil(matched / batch)


@dataclass(frozen=True)
class Latencies:
    """ASSUMED AWS latencies (not measured): one ListVectors page, one DeleteVectors request, one checkpoint."""

    list_ms: float = DEFAULT_LIST_MS
    delete_ms: float = DEFAULT_DELETE_MS
    checkpoint_ms: float = DEFAULT_CHECKPOINT_MS


@dataclass(frozen=True)
class AwsModel:
    """What one S3 Vectors erase page costs on AWS, and how many pages fit in a 15-minute invocation."""

    items: int
    matched_per_page: float
    deletes_per_page: float  # as measured: the worker fills every DeleteVectors batch, buffering across pages
    latencies: Latencies = Latencies()

    @property
    def latency_page_s(self) -> float:
        lat = self.latencies
        return (lat.list_ms + self.deletes_per_page * lat.delete_ms + lat.checkpoint_ms) / 1000

    @property
    def limit_page_s(self) -> float:
        """A page's share of the per-index delete limit when every item's worker deletes at once."""
        return self.matched_per_page / (S3V_VECTORS_PER_S / self.items)

    @property
    def page_s(self) -> float:
        return max(self.latency_page_s, self.limit_page_s)

    @property
    def pages_per_invocation(self) -> int:
        return math.floor(BUDGET_S / self.page_s) + 1

    @property
    def verify_page_s(self) -> float:
        """A verification page lists and checkpoints; it deletes nothing."""
        return (self.latencies.list_ms + self.latencies.checkpoint_ms) / 1000

    @property
    def verify_pages_per_invocation(self) -> int:
        return max(1, int(BUDGET_S / self.verify_page_s))


@dataclass(frozen=True)
class Workload:
    """The job projected: `erased` memories out of an index `erased / share` large, listed in `items` segments.
    `fixed_parent` is the parent execution's transitions (Plan, Map, Verify, Choice per pass, Finalize), which do not
    grow with the data."""

    erased: int
    share: float
    items: int
    fixed_parent: int

    @property
    def index_size(self) -> float:
        return self.erased / self.share

    @property
    def pages_per_item(self) -> int:
        """Pass 1 (erase) lists the whole index."""
        return math.ceil(self.index_size / self.items / LIST_PAGE)

    @property
    def verify_pages_per_item(self) -> int:
        """Pass 2 (verification) lists what is left."""
        return math.ceil((self.index_size - self.erased) / self.items / LIST_PAGE)


@dataclass(frozen=True)
class Scenario:
    """One column of the projection: the job at a given number of pages per worker invocation."""

    worker_invocations: int  # both passes
    invocations: int  # all functions
    children: int  # StateEntered events of the Map's child executions
    transitions: int  # billed: parent + children + 1 per child execution started
    lambda_gb_s: float
    erase_s: float  # Lambda time of pass 1's pages
    lists: int  # ListVectors, both passes
    deletes: int  # DeleteVectors, at most

    @property
    def sfn_cost(self) -> float:
        return self.transitions * SFN_STANDARD_PER_TRANSITION

    @property
    def lambda_request_cost(self) -> float:
        return self.invocations * LAMBDA_PER_REQUEST

    @property
    def lambda_compute_cost(self) -> float:
        return self.lambda_gb_s * LAMBDA_PER_GB_SECOND

    @property
    def total_cost(self) -> float:
        return self.sfn_cost + self.lambda_request_cost + self.lambda_compute_cost


def scenario(work: Workload, model: AwsModel, erase_ppi: int, verify_ppi: int) -> Scenario:
    """Two passes, as the state machine runs them, each of `work.items` work items looping its worker: pass 1 at
    `erase_ppi` pages per invocation, pass 2 at `verify_ppi`."""
    items = work.items
    erase_inv = math.ceil(work.pages_per_item / erase_ppi) * items
    verify_inv = math.ceil(work.verify_pages_per_item / verify_ppi) * items
    children = 2 * (erase_inv + verify_inv) + 2 * items  # Erase Pages + Work Item Done? per loop, Finished per item
    erase_s = work.pages_per_item * items * model.page_s
    verify_s = work.verify_pages_per_item * items * model.verify_page_s
    return Scenario(
        worker_invocations=erase_inv + verify_inv,
        invocations=erase_inv + verify_inv + SHORT_TASKS,
        children=children,
        transitions=work.fixed_parent + children + 2 * items,
        lambda_gb_s=(erase_s + verify_s + SHORT_TASKS * SHORT_TASK_S) * LAMBDA_MEMORY_GB,
        erase_s=erase_s,
        lists=(work.pages_per_item + work.verify_pages_per_item) * items,
        deletes=math.ceil(work.erased / DELETE_BATCH) + erase_inv,
    )


@dataclass(frozen=True)
class Projection:
    work: Workload
    model: AwsModel
    emulated: Scenario  # the measured run's pages per invocation
    aws: Scenario  # 15-minute invocations

    @property
    def delete_limit_s(self) -> float:
        """Pass 1 cannot beat the per-index delete limit, whatever the parallelism."""
        return self.work.erased / S3V_VECTORS_PER_S

    @property
    def segment_latency_s(self) -> float:
        """Pass 1 cannot beat one segment's pages listed one after the other."""
        return self.work.pages_per_item * self.model.latency_page_s

    @property
    def erase_wall_s(self) -> float:
        return max(self.delete_limit_s, self.segment_latency_s)

    @property
    def verify_wall_s(self) -> float:
        """Pass 2: the segments in parallel, each a chain of invocations returning their cursor."""
        return self.work.verify_pages_per_item * self.model.verify_page_s

    @property
    def wall_s(self) -> float:
        return self.erase_wall_s + self.verify_wall_s

    @property
    def requested_deletions_per_s(self) -> float:
        """What the workers would ask for at latency speed: above the per-index limit means HTTP 429s."""
        return self.work.items * self.model.matched_per_page / self.model.latency_page_s


def project(work: Workload, model: AwsModel, emulated_ppi: int) -> Projection:
    """The job of `work` on AWS's 15-minute invocations, and at the emulated run's `emulated_ppi`."""
    return Projection(
        work,
        model,
        emulated=scenario(work, model, emulated_ppi, emulated_ppi),
        aws=scenario(work, model, model.pages_per_invocation, model.verify_pages_per_invocation),
    )
