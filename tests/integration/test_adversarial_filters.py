"""Adversarial filter values never widen a deletion, in S3 Vectors (moto with AWS limits) and OpenSearch (osmem).

Every value is either refused by `Scope.of` with an InvalidRequest naming the problem (and nothing is deleted), or the
erasure removes exactly the memories whose payload value equals the (mem0-normalised) filter value byte for byte and
leaves every other memory, payload included, untouched in both stores.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from memerase.engine import Eraser
from memerase.errors import InvalidRequest, MissingFilter
from memerase.models import MAX_ENTITY_ID_LENGTH, Scope
from tests.support import mem0_data as m0
from tests.support.s3vectors_limits import S3VectorsLimits
from tests.support.targets import os_target, s3_target

# ---- the values stored by mem0's own vector store classes ------------------------------------------------------------

LONG_300 = "u" * 299 + "a"  # longer than OpenSearch's keyword ignore_above (256): only in the text field
LONG_300_TWIN = "u" * 299 + "b"  # differs in the last character only
LONG_MIXED = "Ab-" * 100  # 300 chars the standard analyzer lowercases and splits: a phrase query over-matches...
LONG_MIXED_TWIN = "ab-" * 100  # ...its lower-case twin, which exact equality must keep
LONG_PUNCT = "-" * 300  # 300 chars from which the standard analyzer makes no token at all
LONG_PUNCT_TWIN = "-" * 299 + "."
KB = "k" * (MAX_ENTITY_ID_LENGTH - 1) + "a"  # the longest id Scope accepts
KB_TWIN = "k" * (MAX_ENTITY_ID_LENGTH - 1) + "b"
OVER_KB = "k" * (MAX_ENTITY_ID_LENGTH + 1)
OVER_1024 = "m" * 1500  # mem0 accepts it; memerase refused ids over 1,024 characters before
EMOJI_129 = "\U0001f600" * 129  # 129 code points, but 258 UTF-16 code units (what Java's String.length counts)
NFC = "us\u00e9r"  # "usér", precomposed
NFD = "use\u0301r"  # "usér", e + combining acute accent: looks the same, differs byte for byte
ZERO_WIDTH = "user\u200b1"
RTL = "\u202euser-1"  # right-to-left override in front of a real user id
ARABIC = "\u0645\u0633\u062a\u062e\u062f\u0645-1"
INJECTION = 'user-1")OR("1'

USER_VALUES: list[Any] = [
    "user-1",
    "user-1",
    "user-2",
    "User-1",
    "USER-1",
    "user-1 ",
    " user-1",
    "user-10",
    "user1",
    "owner",
    "*",
    "?",
    "user-1*",
    "a?b",
    "a*b",
    "aXb",
    "ab",
    "a b",
    OVER_1024,
    "1",
    "01",
    LONG_300,
    LONG_300_TWIN,
    LONG_MIXED,
    LONG_MIXED_TWIN,
    LONG_PUNCT,
    LONG_PUNCT_TWIN,
    KB,
    KB_TWIN,
    OVER_KB,
    EMOJI_129,
    "o'brien",
    '"x"',
    "a||b",
    '{"match_all":{}}',
    INJECTION,
    "payload.user_id:*",
    "_id:1",
    "user-1\\",
    "\u30e6\u30fc\u30b6\u30fc",
    NFC,
    NFD,
    ZERO_WIDTH,
    RTL,
    ARABIC,
    "",
    " ",
]
# values also stored under agent_id and run_id (with user_id "owner"), to show keys are never confused
KEYED_VALUES: list[str] = ["*", "User-1", LONG_300, '{"match_all":{}}', "user-1"]


@dataclass
class Stores:
    data: list[m0.Memory]
    s3: Any
    os: Any
    eraser: Eraser

    def contents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return m0.s3_contents(self.s3), m0.opensearch_contents(self.os)

    def everything(self) -> dict[str, Any]:
        return {m.id: m.payload for m in self.data}

    def without(self, filters: dict[str, str]) -> dict[str, Any]:
        """The oracle: every memory but those whose payload equals every filter value byte for byte."""
        return {m.id: m.payload for m in self.data if not equal_bytes(m.payload, filters)}


def equal_bytes(payload: dict[str, Any], filters: dict[str, str]) -> bool:
    def as_bytes(value: str) -> bytes:
        return value.encode("utf-8", "surrogatepass")

    return all(isinstance(payload.get(k), str) and as_bytes(payload[k]) == as_bytes(v) for k, v in filters.items())


def adversarial_dataset() -> list[m0.Memory]:
    rng = random.Random(1234)
    data = [m0.memory(f"memory {i}", rng, user_id=v, agent_id="agent-a") for i, v in enumerate(USER_VALUES)]
    data.append(m0.memory("a memory with no user", rng, agent_id="agent-a", run_id="run-1"))
    for i, v in enumerate(KEYED_VALUES):
        data.append(m0.memory(f"agent memory {i}", rng, user_id="owner", agent_id=v))
        data.append(m0.memory(f"run memory {i}", rng, user_id="owner", run_id=v))
    return data


@pytest.fixture
def stores(s3_limits: S3VectorsLimits, osmem_url: str) -> Stores:
    """The adversarial dataset, written by mem0 into both stores; an eraser paging through them in small pages."""
    data = adversarial_dataset()
    s3, os_ = m0.seed(osmem_url, data)
    eraser = Eraser([s3_target(page_size=7, segments=3), os_target(osmem_url, page_size=7, slices=3)])
    return Stores(data, s3, os_, eraser)


@dataclass(frozen=True)
class Refused:
    """The value is refused by Scope.of with an InvalidRequest whose message contains `because`."""

    because: str


WILDCARD = "* is mem0's wildcard (any value)"
BLANK = "cannot be empty or whitespace-only"
INNER_SPACE = "cannot contain whitespace"
CONTROL = "control characters are not allowed"
TOO_LONG = f"longer than {MAX_ENTITY_ID_LENGTH} characters"

CASES = [
    # mem0's wildcard value: refused, never "everyone"
    pytest.param("*", Refused(WILDCARD), id="star"),
    pytest.param(" * ", Refused(WILDCARD), id="star-trimmed-like-mem0"),
    # `*` and `?` inside an id (or `?` alone) are plain characters, as mem0 stores them: exactly that id
    pytest.param("?", 1, id="question-mark"),
    pytest.param("user-1*", 1, id="prefix-star"),
    pytest.param("user-?", 0, id="single-char-wildcard"),
    pytest.param("a?b", 1, id="question-mark-inside"),
    pytest.param("a*b", 1, id="star-inside"),
    pytest.param("*:*", 0, id="lucene-match-all"),
    pytest.param("payload.user_id:*", 1, id="lucene-field-exists"),
    pytest.param(OVER_1024, 1, id="1500-chars"),
    # blank and whitespace
    pytest.param("", Refused(BLANK), id="empty"),
    pytest.param(" ", Refused(BLANK), id="space"),
    pytest.param("\t\n ", Refused(BLANK), id="tabs-and-newlines"),
    pytest.param("\u3000\u00a0", Refused(BLANK), id="unicode-spaces-only"),
    pytest.param("a OR b", Refused(INNER_SPACE), id="boolean-or-with-spaces"),
    pytest.param('user-1") OR ("1', Refused(INNER_SPACE), id="quote-injection-with-spaces"),
    pytest.param("user\u00a01", Refused(INNER_SPACE), id="inner-no-break-space"),
    pytest.param("user\n1", Refused(INNER_SPACE), id="inner-newline"),
    pytest.param("user\x001", Refused(CONTROL), id="nul-byte"),
    pytest.param("user\x1b[2J", Refused(CONTROL), id="escape-sequence"),
    pytest.param("user\x7f", Refused(CONTROL), id="delete-char"),
    pytest.param(OVER_KB, Refused(TOO_LONG), id="8193-chars"),
    # exact matches, case and digits
    pytest.param("user-1", 2, id="plain"),
    pytest.param("User-1", 1, id="title-case-is-distinct"),
    pytest.param("USER-1", 1, id="upper-case-is-distinct"),
    pytest.param("user-10", 1, id="longer-id-sharing-a-prefix"),
    pytest.param("user-", 0, id="prefix-of-stored-ids"),
    pytest.param("1", 1, id="numeric-string"),
    pytest.param("01", 1, id="leading-zero-is-distinct"),
    pytest.param(1, 1, id="int-coerced-to-string-like-mem0"),
    pytest.param("nobody", 0, id="absent"),
    # surrounding whitespace is trimmed exactly as mem0 does, so " user-1" means "user-1" (not "user-1 ")
    pytest.param(" user-1", 2, id="leading-space-trimmed-like-mem0"),
    pytest.param("user-1 \t", 2, id="trailing-space-trimmed-like-mem0"),
    # longer than the keyword field's ignore_above
    pytest.param(LONG_300, 1, id="300-chars-twin-kept"),
    pytest.param(LONG_300_TWIN, 1, id="300-chars-twin-b"),
    pytest.param(LONG_300[:-1], 0, id="300-chars-prefix"),
    pytest.param(LONG_MIXED, 1, id="300-chars-lowercase-twin-kept"),
    pytest.param(LONG_MIXED_TWIN, 1, id="300-chars-lowercase"),
    pytest.param(
        LONG_PUNCT,
        1,
        id="300-chars-punctuation-only",
    ),
    pytest.param(KB, 1, id="8192-chars-twin-kept"),
    pytest.param(KB_TWIN, 1, id="8192-chars-twin-b"),
    pytest.param(EMOJI_129, 1, id="129-emoji-258-utf16-units"),
    # quotes and query-language fragments are plain bytes
    pytest.param("o'brien", 1, id="single-quote"),
    pytest.param('"x"', 1, id="double-quotes"),
    pytest.param("a||b", 1, id="boolean-or-operator"),
    pytest.param('{"match_all":{}}', 1, id="json-match-all"),
    pytest.param(INJECTION, 1, id="quote-injection"),
    pytest.param("_id:1", 1, id="lucene-id-query"),
    pytest.param("user_id:user-1", 0, id="lucene-field-query"),
    pytest.param("user-[0-9]", 0, id="regex-class"),
    pytest.param("/user-.+/", 0, id="lucene-regex"),
    pytest.param("user-1~", 0, id="lucene-fuzzy"),
    pytest.param("user-%", 0, id="sql-like"),
    pytest.param("user-1\\", 1, id="trailing-backslash"),
    # unicode
    pytest.param("\u30e6\u30fc\u30b6\u30fc", 1, id="japanese"),
    pytest.param(NFC, 1, id="precomposed-accent-decomposed-kept"),
    pytest.param(NFD, 1, id="combining-accent-precomposed-kept"),
    pytest.param(ZERO_WIDTH, 1, id="zero-width-space-user1-kept"),
    pytest.param(RTL, 1, id="rtl-override-user-1-kept"),
    pytest.param(ARABIC, 1, id="arabic"),
    pytest.param("\U0001f600", 0, id="emoji-prefix-of-stored"),
]


@pytest.mark.parametrize(("value", "expected"), CASES)
def test_an_adversarial_user_id_is_refused_or_erases_exactly_its_byte_equal_memories(
    stores: Stores, value: Any, expected: Refused | int
) -> None:
    """Before the fix the `?`/`*`-inside and 1,500- and 8,192-character cases were refused ("wildcard characters
    (* ?) are not allowed", "longer than 1024 characters"): ids mem0 accepts, whose users could not be erased."""
    # Given the adversarial dataset in both stores
    before = stores.everything()
    if isinstance(expected, Refused):
        # When the value is given as a filter, Then it is refused with a message naming the problem
        with pytest.raises(InvalidRequest) as refused:
            stores.eraser.delete_matching(Scope.of(user_id=value))
        assert expected.because in str(refused.value)
        assert str(refused.value).startswith("Invalid user_id")
        # And nothing is deleted anywhere
        assert stores.contents() == (before, before)
        return
    # When the erasure runs
    scope = Scope.of(user_id=value)
    wanted = scope.filters()
    assert wanted == {"user_id": str(value).strip()}  # the only normalisation is mem0's trim (and int -> str)
    result = stores.eraser.delete_matching(scope)
    # Then exactly the byte-equal memories are gone and everything else is intact, payload included, in both stores
    expected_left = stores.without(wanted)
    assert len(before) - len(expected_left) == expected
    s3_left, os_left = stores.contents()
    assert s3_left == expected_left
    assert os_left == expected_left
    assert [(s.matched, s.deleted, s.remaining) for s in result.stores] == [(expected, expected, 0)] * 2
    assert result.verified


def test_star_never_erases_everyone_even_with_other_filters(stores: Stores) -> None:
    # Given the adversarial dataset
    # When "*" is given alone or combined with a real agent_id
    # Then it is still refused
    for filters in ({"user_id": "*", "agent_id": "agent-a"}, {"agent_id": "*"}, {"run_id": "*"}):
        with pytest.raises(InvalidRequest, match="wildcard"):
            stores.eraser.delete_matching(Scope.of(**filters))
    # And nothing is deleted
    before = stores.everything()
    assert stores.contents() == (before, before)


@pytest.mark.parametrize("key", ["agent_id", "run_id"])
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("User-1", 1, id="title-case"),
        pytest.param("user-1", 1, id="plain"),
        pytest.param(LONG_300, 1, id="300-chars"),
        pytest.param('{"match_all":{}}', 1, id="json-match-all"),
        pytest.param("agent-a", None, id="common-agent"),
    ],
)
def test_agent_and_run_filters_match_only_their_own_key_exactly(
    stores: Stores, key: str, value: str, expected: int | None
) -> None:
    # Given values stored under agent_id and run_id, and the same values stored under user_id
    before = stores.everything()
    expected_left = stores.without({key: value})
    if expected is None:  # "agent-a" is held by most memories' agent_id, by no run_id
        expected = len(before) - len(expected_left)
        assert expected == (len(USER_VALUES) + 1 if key == "agent_id" else 0)
    # When erasing by that key
    result = stores.eraser.delete_matching(Scope.of(**{key: value}))
    # Then only memories holding that exact value under that key are gone; the user_id twins are kept
    assert len(before) - len(expected_left) == expected
    assert stores.contents() == (expected_left, expected_left)
    assert result.verified and result.deleted == 2 * expected


def test_an_adversarial_value_anded_with_a_real_user_narrows_instead_of_widening(stores: Stores) -> None:
    # Given memories owned by "owner" holding adversarial agent_id and run_id values
    before = stores.everything()
    # When erasing owner's memories whose agent_id is the literal JSON match-all string
    filters = {"user_id": "owner", "agent_id": '{"match_all":{}}'}
    result = stores.eraser.delete_matching(Scope.of(**filters))
    # Then only that one memory is gone, not every memory of "owner"
    expected_left = stores.without(filters)
    assert len(before) - len(expected_left) == 1
    assert stores.contents() == (expected_left, expected_left)
    assert result.verified and result.deleted == 2


@pytest.mark.parametrize(
    "value",
    [
        pytest.param({}, id="empty-dict"),
        pytest.param({"$ne": "nobody"}, id="mongo-operator"),
        pytest.param({"in": ["user-1", "user-2"]}, id="mem0-in-operator"),
        pytest.param(["user-1"], id="list"),
        pytest.param(("user-1",), id="tuple"),
        pytest.param({"user-1"}, id="set"),
        pytest.param(True, id="true"),
        pytest.param(False, id="false"),
        pytest.param(1.0, id="float"),
        pytest.param(b"user-1", id="bytes"),
        pytest.param(object(), id="object"),
    ],
)
def test_non_string_filter_value_is_refused_and_nothing_is_deleted(stores: Stores, value: Any) -> None:
    # Given the adversarial dataset in both stores
    before = stores.everything()
    for key in ("user_id", "agent_id", "run_id"):
        # When the value is given alone or next to a valid filter
        # Then it is refused as not a string
        for filters in ({key: value}, {"user_id": "user-1", "agent_id": "agent-a", "run_id": "run-1", key: value}):
            with pytest.raises(InvalidRequest, match=f"^Invalid {key}: must be a string$"):
                stores.eraser.delete_matching(Scope.of(**filters))
    # And nothing is deleted
    assert stores.contents() == (before, before)


def test_only_none_values_or_no_values_are_refused_as_a_missing_filter(stores: Stores) -> None:
    # Given the adversarial dataset in both stores
    before = stores.everything()
    for filters in ({}, {"user_id": None}, {"user_id": None, "agent_id": None, "run_id": None}):
        # When a scope without any value is erased
        # Then it is refused as a missing filter
        with pytest.raises(MissingFilter, match="At least one filter is required"):
            stores.eraser.delete_matching(Scope.of(**filters))
    # And nothing is deleted
    assert stores.contents() == (before, before)


@pytest.mark.parametrize(
    "filters",
    [
        pytest.param({"id": "user-1"}, id="id"),
        pytest.param({"filters": {"user_id": "user-1"}}, id="nested-filters"),
        pytest.param({"user_id": "user-1", "actor_id": "x"}, id="extra-key"),
        pytest.param({"User_Id": "user-1"}, id="key-case"),
    ],
)
def test_an_unknown_filter_key_is_refused_and_nothing_is_deleted(stores: Stores, filters: dict[str, Any]) -> None:
    # Given the adversarial dataset in both stores
    before = stores.everything()
    # When a scope with a key mem0 does not filter on is erased
    # Then it is refused naming the unknown filter
    with pytest.raises(InvalidRequest, match="^Unknown filter"):
        stores.eraser.delete_matching(Scope.of(**filters))
    # And nothing is deleted
    assert stores.contents() == (before, before)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("*", 1, id="star"),
        pytest.param("?", 1, id="question-mark"),
        pytest.param("user-1*", 1, id="prefix-star"),
        pytest.param("payload.user_id:*", 1, id="lucene-field-exists"),
        pytest.param(" user-1", 1, id="untrimmed-leading-space"),
        pytest.param("user-1 ", 1, id="untrimmed-trailing-space"),
        pytest.param(" ", 1, id="space"),
    ],
)
def test_the_stores_match_literally_even_when_scope_validation_is_bypassed(
    stores: Stores, value: str, expected: int
) -> None:
    # Given a scope built without validation (defence in depth below Scope.of)
    before = stores.everything()
    scope = Scope.model_construct(user_id=value)
    # When it is erased
    result = stores.eraser.delete_matching(scope)
    # Then the stores treat the value as plain bytes: "*" erases the literal "*" memory, never everyone
    expected_left = stores.without({"user_id": value})
    assert len(before) - len(expected_left) == expected
    assert stores.contents() == (expected_left, expected_left)
    assert result.verified and result.deleted == 2 * expected


def test_the_stores_refuse_an_empty_value_even_when_scope_validation_is_bypassed(stores: Stores) -> None:
    # Given unvalidated scopes holding an empty value, or nothing at all
    before = stores.everything()
    # When they are erased
    # Then the adapters (or the engine) refuse before deleting anything
    with pytest.raises(ValueError, match="refusing an empty or non-string filter"):
        stores.eraser.delete_matching(Scope.model_construct(user_id=""))
    with pytest.raises(InvalidRequest, match="empty scope"):
        stores.eraser.delete_matching(Scope.model_construct())
    assert stores.contents() == (before, before)


@pytest.fixture
def int_twin(stores: Stores) -> m0.Memory:
    """A memory whose user_id is the int 1 (not "1"): OpenSearch indexes it as the keyword "1" all the same."""
    twin = m0.memory("an int user id", random.Random(99), user_id=1)
    m0.write(stores.s3, [twin])
    m0.write(stores.os, [twin])
    stores.data.append(twin)
    return twin


def test_erasing_the_string_id_keeps_a_twin_whose_id_is_an_int(stores: Stores, int_twin: m0.Memory) -> None:
    # Given a memory with user_id "1" and one with user_id 1 (an int, which mem0 2.x would have written as "1")
    # When user_id "1" is erased
    stores.eraser.delete_matching(Scope.of(user_id="1"))
    # Then the string one is gone and the int one is kept, in both stores: matching is type-strict
    expected_left = stores.without({"user_id": "1"})
    assert int_twin.id in expected_left and len(stores.data) - len(expected_left) == 1
    s3_left, os_left = stores.contents()
    assert s3_left == expected_left
    assert os_left == expected_left


def test_the_verification_count_agrees_with_the_type_strict_erasure(stores: Stores, int_twin: m0.Memory) -> None:
    # Given the int twin
    # When user_id "1" is erased (exactly, as the test above shows)
    result = stores.eraser.delete_matching(Scope.of(user_id="1"))
    # Then the verification finds nothing left that the erasure should have taken
    assert [s.remaining for s in result.stores] == [0, 0]
    assert result.verified


def test_long_punctuation_only_id_is_erased_from_opensearch_and_not_falsely_verified(stores: Stores) -> None:
    # Given a 300-character user_id made only of "-" (mem0 stores it; OpenSearch indexes it only as text, no tokens)
    victim = next(m for m in stores.data if m.payload.get("user_id") == LONG_PUNCT)
    # When it is erased
    result = stores.eraser.delete_matching(Scope.of(user_id=LONG_PUNCT))
    # Then it is gone from OpenSearch too, or at least the result does not claim a verified erasure
    os_left = m0.opensearch_contents(stores.os)
    assert not (victim.id in os_left and result.verified), "memory still in OpenSearch, yet result.verified is True"
    assert victim.id not in os_left
