"""docs/SCALE.md's key numbers are what bench/cost_model.py computes: the document cannot drift from the model."""

from __future__ import annotations

from pathlib import Path

from bench import cost_model as cm

SCALE = Path(__file__).resolve().parents[2] / "docs" / "SCALE.md"


def projection() -> cm.Projection:
    """The document's workload: 10 M erased, half of one S3 Vectors index, 4 segments, 9 parent transitions."""
    work = cm.Workload(erased=10_000_000, share=0.5, items=4, fixed_parent=9)
    return cm.project(work, cm.AwsModel(4, matched_per_page=cm.LIST_PAGE * 0.5, deletes_per_page=1.0), emulated_ppi=5)


def section(text: str, heading: str) -> str:
    """The part of docs/SCALE.md under `## <heading>`."""
    return text.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def row(text: str, label: str) -> str:
    """The table row that starts with `label`."""
    return next(line for line in text.splitlines() if line.startswith(f"| {label} |"))


def test_the_s3_vectors_figures_of_the_scale_document_are_the_cost_models() -> None:
    # Given the scale document and the cost model's projection of its workload
    text = SCALE.read_text()
    p = projection()
    aws, work, model = p.aws, p.work, p.model
    # When the document's S3 Vectors rows are read
    # Then each holds the computed value
    assert f"{work.pages_per_item:,} / {work.verify_pages_per_item:,}" in row(
        text, "pages per segment, pass 1 / pass 2"
    )
    pages = f"{model.pages_per_invocation:,} / {model.verify_pages_per_invocation:,}"
    assert pages in row(text, "pages per 15-minute invocation (erase / verify)")
    assert f"| {aws.worker_invocations} |" in row(text, "worker invocations (both passes)")
    assert f"| {aws.invocations} |" in row(text, "Lambda invocations (all functions)")
    assert f"| {aws.lambda_gb_s:,.0f} |" in row(text, "Lambda GB-seconds (1,024 MB)")
    assert f"| {aws.transitions} |" in row(text, "billed state transitions")
    assert f"${aws.sfn_cost:.4f}" in row(text, "Step Functions cost")
    assert f"${aws.lambda_compute_cost + aws.lambda_request_cost:.4f}" in row(text, "Lambda cost (compute + requests)")
    assert f"${aws.total_cost:.2f}" in row(text, "**total, Step Functions + Lambda**")
    # And the wall times: the per-index delete limit, the segments' latency, the verification, their sum
    wall = section(text, "Wall time")
    assert f"**{p.delete_limit_s / 60:.1f} min**" in row(wall, "S3 Vectors")
    assert f"{p.segment_latency_s / 60:.1f} min" in row(wall, "S3 Vectors")
    assert f"{p.verify_wall_s / 60:.1f} min" in row(wall, "verification (S3 Vectors)")
    assert f"about {p.wall_s / 60:.0f} minutes" in wall
    assert f"{round(p.requested_deletions_per_s, -2):,.0f} deletions/s" in text
    assert f"{aws.lists:,} ListVectors and at most {aws.deletes:,} DeleteVectors" in text


def test_the_minimum_requests_of_the_scale_document_are_the_cost_models() -> None:
    # Given the scale document's request table
    text = section(SCALE.read_text(), "Requests (computed)")
    # When the minimum requests of each store are computed: S3 Vectors lists the whole 20 M index (1,000 a page,
    # 500-key deletes), OpenSearch and Neptune read only the 10 M matches (1,000 a page; 1,000 and 500 per delete)
    s3 = cm.minimum_requests(20_000_000, 10_000_000, cm.LIST_PAGE, cm.DELETE_BATCH)
    opensearch = cm.minimum_requests(10_000_000, 10_000_000, 1_000, 1_000)
    neptune = cm.minimum_requests(10_000_000, 10_000_000, 1_000, 500)
    # Then the document's rows say the same
    assert f"**{s3:,}**" in row(text, "S3 Vectors")
    assert f"**{opensearch:,}**" in row(text, "OpenSearch")
    assert f"**{neptune:,}**" in row(text, "Neptune Analytics")
