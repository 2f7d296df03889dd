"""The API keys table: keys stored only as SHA-256 hashes in DynamoDB, each with a scope: admin, or bound to
user/agent/run ids."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.dynamodb.conditions import Attr

from memerase import dynamo
from memerase.errors import ConfigError, InvalidRequest, StoreError, Unauthorized
from memerase.models import Scope
from memerase.principal import Principal

KEY_PREFIX = "mek_"
TABLE = "API keys table"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def table_schema(table_name: str) -> dict[str, Any]:
    return dynamo.table_schema(table_name, "key_hash")


def parse_authorization(header: str | None) -> str:
    """mem0's client sends `Authorization: Token <key>`; `Bearer <key>` is accepted too."""
    if not header:
        raise Unauthorized("Missing API key: send `Authorization: Token <key>`")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() not in ("token", "bearer") or not key.strip():
        raise Unauthorized("Malformed Authorization header: expected `Token <key>`")
    return key.strip()


class ApiKeyStore:
    def __init__(
        self, table_name: str | None, region_name: str | None = None, admin_key: str | None = None, resource: Any = None
    ):
        self._table: Any = None
        if table_name:
            dynamodb = resource or boto3.resource("dynamodb", region_name=region_name, config=dynamo.CLIENT_CONFIG)
            self._table = dynamodb.Table(table_name)
        self._admin_hash = hash_key(admin_key) if admin_key else None

    def authenticate(self, authorization: str | None) -> Principal:
        key = parse_authorization(authorization)
        digest = hash_key(key)
        if self._admin_hash and hmac.compare_digest(digest, self._admin_hash):
            return Principal(key_id="env-admin", admin=True)
        table = self._table
        found = dynamo.call(table.get_item, TABLE, Key={"key_hash": digest}) if table else {}
        item: dict[str, Any] | None = found.get("Item")
        if not item or item.get("revoked"):
            raise Unauthorized("Invalid API key")
        admin = item.get("admin", False)
        if not isinstance(admin, bool):  # never truthiness: the string "false" would make an admin
            raise StoreError(f"{TABLE}: key {item['key_id']}: `admin` is not a boolean")
        return Principal(key_id=item["key_id"], admin=admin, scopes=[Scope.of(**s) for s in item.get("scopes", [])])

    def create(self, name: str, admin: bool = False, scopes: list[Scope] | None = None) -> tuple[str, dict[str, Any]]:
        """A new key; the key itself is returned once and never stored."""
        if not admin and not scopes:
            raise ValueError("a non-admin key needs at least one scope")
        if admin and scopes:  # an admin key covers every scope: a scope beside it would be listed but mean nothing
            raise InvalidRequest("an admin key covers every scope: give a key either admin or scopes, not both")
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        digest = hash_key(key)
        item = {
            "key_hash": digest,
            "key_id": "key_" + digest[:12],
            "name": name,
            "admin": admin,
            "scopes": [s.filters() for s in scopes or []],
            "created_at": datetime.now(UTC).isoformat(),
            "revoked": False,
        }
        table = self._require_table()
        dynamo.call(
            table.put_item, TABLE, Item=item, **dynamo.expressions(ConditionExpression=Attr("key_hash").not_exists())
        )
        return key, _public(item)

    def list(self) -> list[dict[str, Any]]:
        found = dynamo.items(self._require_table().scan, TABLE)
        return sorted((_public(dynamo.plain(i)) for i in found), key=lambda i: i["created_at"])

    def revoke(self, key_id: str) -> bool:
        """Mark the key revoked; False when no key has this id. The key may be on any page of the table."""
        table = self._require_table()
        matching = dynamo.expressions(FilterExpression=Attr("key_id").eq(key_id))
        found = next(dynamo.items(table.scan, TABLE, **matching), None)
        if found is None:
            return False
        dynamo.call(
            table.update_item,
            TABLE,
            Key={"key_hash": found["key_hash"]},
            UpdateExpression="SET revoked = :t",
            ExpressionAttributeValues={":t": True},
        )
        return True

    def _require_table(self) -> Any:
        if self._table is None:
            raise ConfigError("no API keys table configured (api.keys_table_name)")
        return self._table


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: item[k] for k in ("key_id", "name", "admin", "scopes", "created_at", "revoked") if k in item}
