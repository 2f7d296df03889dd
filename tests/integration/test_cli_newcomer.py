"""The `memerase` command as a newcomer meets it (issue #9): a refusal without filters points at `memerase reset`,
the "no history" notice comes once and only after an erasure, and a store outage half-way prints what is already
gone before the one-line error. Run as a real process against moto server and osmem-server."""

from __future__ import annotations

from tests.integration.test_cli import memerase
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import create_tables, memerase_config

NOTICE = "no history table configured"


def test_delete_all_without_filters_names_memerase_reset_and_erases_nothing(aws: str, osmem_url: str) -> None:
    # Given memories of 2 users in both stores
    data = m0.dataset(users=2, per_user=5)
    s3, os_ = m0.seed(osmem_url, data)
    # When `memerase delete-all` runs without a filter
    done = memerase("delete-all", conf=memerase_config(osmem_url, history=None))
    # Then it is refused (exit 1) in one line that names the filters and `memerase reset`, and nothing is erased
    assert done.returncode == 1, done.stderr
    assert "memerase reset --confirm <target>" in done.stderr and "--user-id" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert len(m0.s3_contents(s3)) == len(data) and len(m0.opensearch_contents(os_)) == len(data)


def test_no_history_notice_is_not_printed_before_a_refusal(aws: str, osmem_url: str) -> None:
    # Given memories in both stores and a configuration without a history table
    m0.seed(osmem_url, m0.dataset(users=2, per_user=5))
    conf = memerase_config(osmem_url, history=None)
    # When commands are refused: delete-all without filters, delete of an unknown id
    refusals = [memerase("delete-all", conf=conf), memerase("delete", "no-such-memory", conf=conf)]
    # Then each says only why it was refused, not that history is off
    assert [r.returncode for r in refusals] == [1, 1]
    assert all(NOTICE not in r.stderr for r in refusals), [r.stderr for r in refusals]


def test_no_history_notice_follows_the_summary_of_an_erasure(aws: str, osmem_url: str) -> None:
    # Given memories of 2 users and a configuration without a history table
    m0.seed(osmem_url, m0.dataset(users=2, per_user=5))
    # When one user is erased
    done = memerase("delete-all", "--user-id", "user-1", conf=memerase_config(osmem_url, history=None))
    # Then the notice comes once, in the past tense, after the erasure's summary
    assert done.returncode == 0, done.stderr
    assert done.stderr.count(NOTICE) == 1 and "were written" in done.stderr
    assert "delete_matching" in done.stdout


def test_store_outage_half_way_prints_what_is_already_gone_then_one_line_error(
    s3_limits: S3VectorsLimits, osmem_url: str
) -> None:
    # Given 600 memories of one user (two DeleteVectors batches of at most 500) and S3 Vectors refusing the second
    # DeleteVectors (an error the adapter does not retry)
    data = m0.dataset(users=1, per_user=600, agents=("agent-a",))
    s3, os_ = m0.seed(osmem_url, data)
    create_tables(jobs=None)
    s3_limits.fail_every("DeleteVectors", 2, "AccessDeniedException")
    # When the user is erased through the CLI
    done = memerase("delete-all", "--user-id", "user-0", conf=memerase_config(osmem_url))
    # Then the command fails, and before its one-line error it printed, per store, what it had already erased:
    # the first batch of S3 Vectors, which is indeed gone, and nothing of OpenSearch (never reached)
    gone = len(data) - len(m0.s3_contents(s3))
    assert gone == 500 and len(m0.opensearch_contents(os_)) == len(data)
    assert done.returncode != 0
    assert "erased before the failure" in done.stdout, done.stdout
    [s3_row] = [line for line in done.stdout.splitlines() if "s3_vectors:" in line]
    assert s3_row.split()[-2] == "500", s3_row
    assert "opensearch:" not in done.stdout
    error = done.stderr.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("memerase: ") and "Traceback" not in done.stderr
