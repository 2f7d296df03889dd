"""The API keys table on moto server: revoking and listing keys in a table that spans several 1 MB pages."""

from __future__ import annotations

import boto3
import pytest

from memerase.errors import InvalidRequest, StoreError, Unauthorized
from memerase.keys import ApiKeyStore, table_schema
from memerase.models import Scope

TABLE = "memerase-keys"
LONG_NAME = "n" * 20_000  # 60 keys of ~20 KB each: a Scan needs at least two 1 MB pages
KEYS = 60


@pytest.fixture
def store(aws: str) -> ApiKeyStore:
    boto3.client("dynamodb").create_table(**table_schema(TABLE))
    return ApiKeyStore(TABLE)


def create_keys(store: ApiKeyStore, count: int) -> list[tuple[str, str]]:
    """(key, key_id) of `count` new user-scoped keys with long names."""
    created = []
    for n in range(count):
        key, info = store.create(LONG_NAME, scopes=[Scope.of(user_id=f"user-{n}")])
        created.append((key, info["key_id"]))
    return created


def test_the_keys_table_spans_several_scan_pages(store: ApiKeyStore) -> None:
    # Given keys with long names
    create_keys(store, KEYS)

    # When the table is scanned once
    page = boto3.resource("dynamodb").Table(TABLE).scan()

    # Then one page does not hold them all (the premise of the revoke test below)
    assert "LastEvaluatedKey" in page and len(page["Items"]) < KEYS


def test_revoke_finds_a_key_on_any_page_of_the_keys_table(store: ApiKeyStore) -> None:
    # Given a keys table of several Scan pages
    created = create_keys(store, KEYS)

    # When every key is revoked by its key_id
    revoked = [store.revoke(key_id) for _, key_id in created]

    # Then each revoke found its key, wherever its page, and none of the keys authenticates any more
    assert revoked == [True] * KEYS
    for key, _ in created:
        with pytest.raises(Unauthorized):
            store.authenticate(f"Token {key}")


def test_revoke_of_an_unknown_key_id_reports_it_after_reading_every_page(store: ApiKeyStore) -> None:
    # Given a keys table of several Scan pages
    created = create_keys(store, KEYS)

    # When a key_id that no key has is revoked
    found = store.revoke("key_000000000000")

    # Then nothing was found and every key still authenticates
    assert found is False
    assert all(store.authenticate(f"Token {key}").key_id == key_id for key, key_id in created)


def test_list_returns_every_key_of_a_table_of_several_pages(store: ApiKeyStore) -> None:
    # Given a keys table of several Scan pages
    created = create_keys(store, KEYS)

    # When the keys are listed
    listed = store.list()

    # Then every key is listed once, without its hash
    assert sorted(i["key_id"] for i in listed) == sorted(key_id for _, key_id in created)
    assert all("key_hash" not in i for i in listed)


@pytest.mark.parametrize("stored", ["false", "true", 0, 1], ids=repr)
def test_a_stored_key_whose_admin_flag_is_not_a_boolean_is_refused_not_made_admin(
    store: ApiKeyStore, stored: object
) -> None:
    # Given a scoped key whose stored admin flag was rewritten as something other than a boolean
    key, info = store.create("tenant", scopes=[Scope.of(user_id="user-1")])
    table = boto3.resource("dynamodb").Table(TABLE)
    (item,) = table.scan()["Items"]
    table.put_item(Item={**item, "admin": stored})

    # When the key authenticates
    with pytest.raises(StoreError) as refused:
        store.authenticate(f"Token {key}")

    # Then it is refused, naming the flag, never taken as admin
    assert "admin" in str(refused.value) and info["key_id"] in str(refused.value)


def test_an_admin_key_with_a_scope_is_refused_and_nothing_is_stored(store: ApiKeyStore) -> None:
    """Before the fix: the key was created, and listed as admin beside a scope that meant nothing."""
    # Given an empty keys table
    # When an admin key is asked for with a user scope
    with pytest.raises(InvalidRequest, match="admin key covers every scope"):
        store.create("ops", admin=True, scopes=[Scope.of(user_id="u")])
    # Then no key was stored
    assert store.list() == []
