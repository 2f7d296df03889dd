"""The scope hasher: HMAC-SHA256 under a per-deployment key, never a built-in key; reason codes and references."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from memerase.erasure_reason import ErasureReason, Justification
from memerase.errors import ConfigError, InvalidRequest
from memerase.fingerprint import KEY_ENV, ScopeHasher
from memerase.jobs.models import JobRecord
from memerase.models import Scope
from memerase.scope_key import ScopeHashConfig, load_hasher
from memerase.settings import parse_settings

KEY = "k" * 40
OTHER_KEY = "o" * 40
EMAIL = "zoe@example.com"


def unsalted(scope: Scope) -> str:
    """The scope hash memerase used to publish: SHA-256 of the canonical filters, checkable by anyone."""
    canonical = json.dumps(scope.filters(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def test_a_guessed_address_cannot_be_confirmed_without_the_deployments_key() -> None:
    # Given a scope of an e-mail address, hashed by a deployment
    scope = Scope.of(user_id=EMAIL, agent_id="bot")
    published = ScopeHasher(KEY).scope(scope)
    # When someone without the key hashes their guess, unsalted or under another key
    guesses = {unsalted(scope), ScopeHasher(OTHER_KEY).scope(scope)}
    # Then no guess matches, the address is not readable from the hash, and it is HMAC-SHA256 under the key
    assert published not in guesses and EMAIL not in published
    canonical = json.dumps(scope.filters(), sort_keys=True, separators=(",", ":"))
    assert published == hmac.new(KEY.encode(), f"scope\x00{canonical}".encode(), hashlib.sha256).hexdigest()


def test_equal_scopes_hash_equal_whatever_order_their_ids_came_in() -> None:
    # Given one hasher
    hasher = ScopeHasher(KEY)
    # When the same scope is built in two orders, and a narrower one is built
    # Then the same scope hashes equal and another differs
    assert hasher.scope(Scope.of(user_id="alice", agent_id="bot")) == hasher.scope(
        Scope.of(agent_id="bot", user_id="alice")
    )
    assert hasher.scope(Scope.of(user_id="alice", agent_id="bot")) != hasher.scope(Scope.of(user_id="alice"))


def test_without_a_key_nothing_is_hashed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given no key in the settings and none in the environment
    monkeypatch.delenv(KEY_ENV, raising=False)
    # When a hasher is asked for
    # Then it is refused, naming where a key comes from: there is no fallback key
    with pytest.raises(ConfigError, match="no scope hash key"):
        load_hasher(None)
    with pytest.raises(ConfigError, match="at least 32"):
        ScopeHasher("short")


def test_the_settings_name_one_source_of_the_key() -> None:
    # Given a scope_hash section with both sources, with neither, and with the key alone
    # When each is read
    # Then only exactly one source is accepted, and the key never shows in the settings' repr
    for section in ({"key": KEY, "secret_arn": "arn:aws:secretsmanager:us-east-1:1:secret:x"}, {}):
        with pytest.raises(ConfigError, match="exactly one of secret_arn and key"):
            parse_settings({"targets": [_target()], "scope_hash": section})
    settings = parse_settings({"targets": [_target()], "scope_hash": {"key": KEY}})
    assert isinstance(settings.scope_hash, ScopeHashConfig) and KEY not in repr(settings)
    assert load_hasher(settings.scope_hash).scope(Scope.of(user_id="u")) == ScopeHasher(KEY).scope(
        Scope.of(user_id="u")
    )


def test_a_reference_hash_never_equals_a_scope_hash_of_the_same_text() -> None:
    # Given a reference that reads like a filter set
    hasher = ScopeHasher(KEY)
    text = json.dumps({"user_id": "u"}, separators=(",", ":"))
    # When it is hashed as a reference and the scope as a scope
    # Then the two differ (each kind has its own domain), and neither shows the text
    assert hasher.reference(text) != hasher.scope(Scope.of(user_id="u")) and "user_id" not in hasher.reference(text)


@pytest.mark.parametrize("given", ["gdpr_art17", "GDPR-ART17", " Retention ", "user_request", "cleanup", "other"])
def test_reason_codes_are_accepted_in_any_case(given: str) -> None:
    # Given a reason code as a caller may spell it
    # When it is read
    # Then it is one of the codes
    assert isinstance(Justification.of(given).code, ErasureReason)


@pytest.mark.parametrize("given", ["GDPR art. 17 for zoe@example.com", "delete zoe@example.com", "x" * 600, "", 42])
def test_free_text_reasons_are_refused_without_being_echoed(given: object) -> None:
    # Given a free-text (or non-string) reason, which could carry the very ids being erased
    # When it is read
    # Then it is refused, naming the allowed codes and the `reference` field, never quoting it
    with pytest.raises(InvalidRequest) as refused:
        Justification.of(given)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "gdpr_art17" in message and "reference" in message
    assert (str(given) not in message) if given else True


def test_a_reference_with_control_characters_is_refused_without_being_echoed() -> None:
    # Given a reference with a newline (a log-injection attempt)
    reference = "TICKET-1\nzoe@example.com"
    # When it is read
    # Then it is refused with the rule, not the value
    with pytest.raises(InvalidRequest) as refused:
        Justification.of("gdpr_art17", reference)
    assert "control characters" in str(refused.value) and "zoe" not in str(refused.value)


def test_a_job_record_written_with_a_free_text_reason_reads_as_other() -> None:
    # Given a job record stored before reasons were codes, with free text
    stored = {"job_id": "j1", "scope_hash": "h", "created_at": "t", "updated_at": "t", "reason": "zoe asked by mail"}
    # When it is read
    job = JobRecord.model_validate(stored)
    # Then its reason is `other`, and the text is not shown
    assert job.reason == ErasureReason.OTHER and "zoe" not in json.dumps(job.public())


def _target() -> dict[str, object]:
    return {"name": "s3", "vector_store": {"provider": "s3_vectors", "config": {"vector_bucket_name": "bucket"}}}
