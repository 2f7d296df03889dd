"""OpenSearch in mem0's own vocabulary: mem0's `OpenSearchConfig` fields, and OpenSearch's index-name rules.

mem0 names indexes from `collection_name` (the memories, `<name>_entities` for mem0 2.x's entity records,
`<name>_neptune_vector_store` for mem0 1.x's graph embeddings on Neptune Database). An index name is also an index
*expression* in OpenSearch's APIs (`mem0-*`, `a,b`, `_all`, `-x`): memerase accepts only names OpenSearch would let
mem0 create, so no name can reach another index (and every index-level call also sends `expand_wildcards=none`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, StrictBool, field_validator

from memerase.strict import Strict as _Strict

INDEX_NAME_BYTES = 255  # OpenSearch's limit, in UTF-8 bytes
ENTITIES_SUFFIX = "_entities"  # the longest suffix memerase derives an index name with for every OpenSearch target
_FORBIDDEN = frozenset(' ,:"*+/\\|?#<>')
INDEX_NAME_RULES = (
    'not a valid OpenSearch index name: lowercase, without spaces, commas or any of : " * + / \\ | ? # < >, not '
    "starting with _ - + and not . or .., at most 255 bytes"
)


def index_name_problem(name: str, room: int = 0) -> str | None:
    """Why `name` is not an index name OpenSearch accepts (with `room` bytes left for a suffix); None if it is."""
    if (
        not name
        or name in {".", ".."}
        or name[0] in "_-+"
        or name != name.lower()
        or any(c in _FORBIDDEN or c.isspace() or ord(c) < 32 or ord(c) == 127 for c in name)
    ):
        return INDEX_NAME_RULES
    if len(name.encode("utf-8")) > INDEX_NAME_BYTES - room:
        return f"too long for an OpenSearch index name: at most {INDEX_NAME_BYTES - room} bytes" + (
            f" (mem0 also names <name>{ENTITIES_SUFFIX} after it)" if room else ""
        )
    return None


class AwsAuthConfig(_Strict):
    """SigV4 signing for Amazon OpenSearch Service (`es`) or OpenSearch Serverless (`aoss`)."""

    region: str
    service: Literal["es", "aoss"] = "es"


class OpenSearchConfig(_Strict):
    """mem0's `OpenSearchConfig` fields (those that can be written as JSON), plus `aws_auth`.

    `api_key`, `connection_class` and `auto_refresh` are mem0's too, but change nothing in mem0 2.2.1's own client
    (it ignores `api_key` and `connection_class`) or in what memerase does (it refreshes after deleting by itself):
    their defaults are accepted, so a pasted mem0 configuration reads, and any other value is refused, naming the key.
    """

    collection_name: str = "mem0"
    host: str = "localhost"
    port: int = 9200
    user: str | None = None
    password: str | None = None
    api_key: str | None = None
    embedding_model_dims: int = Field(1536, gt=0)
    verify_certs: StrictBool | None = Field(
        None,
        description="certificate verification; unset, it is on whenever use_ssl is (false must be said explicitly)",
    )
    use_ssl: StrictBool = False
    connection_class: str | None = "RequestsHttpConnection"
    pool_maxsize: int = 20
    auto_refresh: bool = False
    aws_auth: AwsAuthConfig | None = None

    @field_validator("collection_name")
    @classmethod
    def _index_name(cls, value: str) -> str:
        problem = index_name_problem(value, room=len(ENTITIES_SUFFIX))
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("api_key")
    @classmethod
    def _no_api_key(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError("not supported: OpenSearch takes no API key (mem0 ignores it too); use user and password")
        return None

    @field_validator("connection_class")
    @classmethod
    def _requests_connection(cls, value: str | None) -> str | None:
        if value not in (None, "RequestsHttpConnection"):
            raise ValueError("only RequestsHttpConnection (mem0's and memerase's client use it whatever this says)")
        return value

    @field_validator("auto_refresh")
    @classmethod
    def _no_auto_refresh(cls, value: bool) -> bool:
        if value:
            raise ValueError(
                "not supported: memerase refreshes the index after deleting by itself (where the service allows it); "
                "remove the key or set it to false"
            )
        return value


def verifies_certificates(config: OpenSearchConfig) -> bool:
    """TLS without certificate verification trusts any certificate, so a forged search answer could name the
    documents memerase deletes: verification is on with TLS unless the configuration turns it off explicitly."""
    return config.verify_certs if config.verify_certs is not None else config.use_ssl
