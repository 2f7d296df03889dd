"""The benchmarks' cost model: the arithmetic behind the figures docs/LIMITS.md and bench/README.md quote."""

from __future__ import annotations

import math

import pytest

from bench import cost_model as cm
from memerase.stores import s3_vectors

# The measured shape bench/README.md projects from: half the index matches, 4 ListVectors segments (the adapter's
# default), one DeleteVectors per page at most, 9 parent transitions (two passes and Finalize).
HALF, SEGMENTS, PARENT = 0.5, 4, 9


def ten_million_in_twenty(deletes_per_page: float = 1.0) -> cm.Projection:
    work = cm.Workload(erased=10_000_000, share=HALF, items=SEGMENTS, fixed_parent=PARENT)
    model = cm.AwsModel(SEGMENTS, matched_per_page=cm.LIST_PAGE * HALF, deletes_per_page=deletes_per_page)
    return cm.project(work, model, emulated_ppi=5)


def test_the_model_uses_the_adapters_page_and_batch_sizes_which_are_aws_maximums() -> None:
    # Given the S3 Vectors adapter's page and batch sizes
    # When the cost model reads them
    # Then a list page is ListVectors' maximum of 1,000 and a delete batch DeleteVectors' maximum of 500
    assert cm.LIST_PAGE == s3_vectors.LIST_PAGE_SIZE == 1_000
    assert cm.DELETE_BATCH == s3_vectors.DELETE_BATCH_SIZE == 500


def test_the_per_index_delete_limit_makes_ten_million_take_at_least_67_minutes() -> None:
    # Given 10 million memories to erase from one S3 Vectors index
    projection = ten_million_in_twenty()
    # When the delete limit alone is considered
    minutes = projection.delete_limit_s / 60
    # Then 10 M / 2,500 vectors per second is 66.7 minutes, about 9 million an hour
    assert minutes == pytest.approx(66.67, abs=0.01)
    assert cm.S3V_VECTORS_PER_S * 3600 == 9_000_000


def test_page_of_1000_listed_vectors_costs_between_0_3_and_0_8_seconds() -> None:
    # Given 4 workers each listing pages of 1,000 vectors of which 500 match, one DeleteVectors per page
    model = cm.AwsModel(SEGMENTS, matched_per_page=500, deletes_per_page=1.0)
    # When a page's latency and its share of the per-index delete limit are computed
    # Then latency is 150 + 100 + 10 ms, the limit share is 500 / (2,500 / 4) = 0.8 s, and the page takes the larger
    assert model.latency_page_s == pytest.approx(0.26)
    assert model.limit_page_s == pytest.approx(0.8)
    assert model.page_s == pytest.approx(0.8)


def test_page_that_deletes_little_is_bound_by_its_latency() -> None:
    # Given a scope that matches 1% of the index
    model = cm.AwsModel(SEGMENTS, matched_per_page=10, deletes_per_page=0.02)
    # When the page time is computed
    # Then the latency (150 + 0.02 x 100 + 10 ms) is larger than the delete-limit share (10 / 625 s) and wins
    assert model.latency_page_s == pytest.approx(0.162)
    assert model.limit_page_s == pytest.approx(0.016)
    assert model.page_s == model.latency_page_s


def test_15_minute_invocation_covers_about_1050_erase_pages() -> None:
    # Given pages of 0.8 s and a worker that stops when less than the 60 s margin is left of 15 minutes
    model = cm.AwsModel(SEGMENTS, matched_per_page=500, deletes_per_page=1.0)
    # When the pages one invocation covers are counted
    pages = model.pages_per_invocation
    # Then it is floor(840 s / 0.8 s) + 1 = 1,051: the worker starts one more page while time is left
    assert cm.BUDGET_S == 840
    assert pages == 1_051


def test_the_emulated_page_clock_stops_an_invocation_after_the_pages_asked_for() -> None:
    # Given the page clock for 5 pages per invocation
    page_ms = cm.page_clock_ms(5)
    # When the time left after 4 and after 5 pages is read
    after = [cm.LAMBDA_TIMEOUT_MS - pages * page_ms for pages in (4, 5)]
    # Then after 4 pages the margin is still there and after 5 it is not
    assert after[0] >= cm.TIME_MARGIN_MS > after[1]


def test_ten_million_in_an_index_of_twenty_million_needs_29_invocations_and_73_transitions_on_aws() -> None:
    # Given the projection docs/LIMITS.md quotes: 10 M erased out of 20 M, 4 segments, 15-minute invocations
    projection = ten_million_in_twenty()
    # When its AWS column is read
    work, aws = projection.work, projection.aws
    # Then pass 1 lists 5,000 pages a segment (5 invocations each), pass 2 the 2,500 left (1 invocation each)
    assert (work.index_size, work.pages_per_item, work.verify_pages_per_item) == (20_000_000, 5_000, 2_500)
    assert aws.worker_invocations == 4 * 5 + 4 * 1
    # and plan + verify per pass and finalize make 29 invocations
    assert aws.invocations == 29
    # and the children enter 2 states per invocation and 1 per item and pass; each child start is billed
    assert aws.children == 2 * 24 + 2 * 4
    assert aws.transitions == PARENT + aws.children + 2 * 4 == 73


def test_ten_million_cost_about_thirty_cents_in_step_functions_and_lambda() -> None:
    # Given the same projection
    aws = ten_million_in_twenty().aws
    # When it is priced at the us-east-1 list prices
    # Then Lambda time is 20,000 erase pages x 0.8 s + 10,000 verification pages x 0.16 s + 5 short tasks x 1 s
    assert aws.lambda_gb_s == pytest.approx(20_000 * 0.8 + 10_000 * 0.16 + 5)
    assert aws.sfn_cost == pytest.approx(73 * 0.025 / 1000)
    assert aws.lambda_compute_cost == pytest.approx(17_605 * 0.0000166667)
    assert aws.lambda_request_cost == pytest.approx(29 * 0.2 / 1e6)
    # and the total rounds to $0.30
    assert round(aws.total_cost, 2) == 0.30


def test_the_emulated_column_loops_a_worker_every_5_pages() -> None:
    # Given the same projection at the emulated run's 5 pages per invocation
    emulated = ten_million_in_twenty().emulated
    # When its counts are read
    # Then 5,000 / 5 x 4 + 2,500 / 5 x 4 = 6,000 worker invocations and 12,025 billed transitions
    assert emulated.worker_invocations == 6_000
    assert emulated.invocations == 6_005
    assert emulated.transitions == PARENT + 2 * 6_000 + 2 * 4 + 2 * 4 == 12_025
    assert emulated.sfn_cost == pytest.approx(0.300625)


def test_the_requests_counted_are_every_page_listed_and_at_most_one_extra_delete_per_invocation() -> None:
    # Given the same projection
    projection = ten_million_in_twenty()
    # When the S3 Vectors requests are counted
    # Then both passes list 30,000 pages, and deletes are 10 M / 500 plus one partial batch per erase invocation
    assert projection.aws.lists == projection.emulated.lists == (5_000 + 2_500) * 4
    assert projection.aws.deletes == 20_000 + 20
    assert projection.emulated.deletes == 20_000 + 4_000


def test_the_job_ends_in_about_73_minutes_the_verification_pass_in_about_7() -> None:
    # Given the same projection
    projection = ten_million_in_twenty()
    # When the wall time is estimated
    # Then pass 1 is bound by the delete limit (66.7 min > 5,000 pages x 0.26 s), pass 2 is 2,500 pages x 0.16 s
    assert projection.segment_latency_s == pytest.approx(5_000 * 0.26)
    assert projection.erase_wall_s == projection.delete_limit_s
    assert projection.verify_wall_s / 60 == pytest.approx(6.67, abs=0.01)
    assert round(projection.wall_s / 60) == 73


def test_four_workers_at_latency_speed_would_ask_for_more_than_the_per_index_delete_limit() -> None:
    # Given the same projection
    projection = ten_million_in_twenty()
    # When the deletions the workers would ask for at latency speed are computed
    # Then 4 x 500 / 0.26 s is above 2,500 per second: AWS answers some of them with HTTP 429
    assert projection.requested_deletions_per_s == pytest.approx(4 * 500 / 0.26)
    assert projection.requested_deletions_per_s > cm.S3V_VECTORS_PER_S


def test_the_history_event_limit_allows_about_3500_worker_loops_per_work_item() -> None:
    # Given a Distributed Map child's 25,000-event history and 7 events per worker loop
    # When the loops a work item can make are counted
    loops = cm.loops_per_work_item()
    # Then it is about 3,500, which at ~1,000 pages of 1,000 vectors a loop is ~3.5 billion scanned vectors
    assert loops == 3_571
    assert math.isclose(loops * 1_000 * cm.LIST_PAGE, 3.5e9, rel_tol=0.03)


@pytest.mark.parametrize(
    ("scanned", "matched", "page", "batch", "minimum"),
    [
        (2_000, 200, 1_000, 500, 3),  # S3 Vectors lists the whole index
        (200, 200, 1_000, 1_000, 2),  # OpenSearch reads the matches only
        (20_000, 2_000, 1_000, 500, 24),
        (2_000, 2_000, 1_000, 1_000, 4),
    ],
)
def test_the_minimum_is_one_request_per_page_scanned_and_per_delete_batch(
    scanned: int, matched: int, page: int, batch: int, minimum: int
) -> None:
    # Given the figures of bench/README.md's erase_one_user tables
    # When the minimum number of requests is computed
    # Then it is ceil(scanned / page) + ceil(matched / batch)
    assert cm.minimum_requests(scanned, matched, page, batch) == minimum


def test_figures_per_10000_erased_scale_by_what_was_erased() -> None:
    # Given 35 invocations for 50,000 memories erased, and a run that erased nothing
    # When both are expressed per 10,000 memories erased
    # Then the first is 7 and the second is not a number rather than a division error
    assert cm.per(35, 50_000) == 7
    assert math.isnan(cm.per(35, 0))
