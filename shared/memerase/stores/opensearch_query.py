"""OpenSearch query clauses for mem0's layout: the scope's exact-match filters and the criteria's date ranges.

Every clause selects a superset of what `Selection.decide` selects; the adapter decides every hit again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import UTC, timedelta
from typing import Any

from memerase.criteria import CREATED_AT, EXPIRATION_DATE, Criteria
from memerase.stores.base import Filters

KEYWORD_IGNORE_ABOVE = 256


def filter_clauses(filters: Filters) -> list[dict[str, Any]]:
    """Query clauses selecting (a superset of) the exact matches; never `exists`, never wildcards."""
    clauses: list[dict[str, Any]] = []
    for key, value in filters.items():
        if in_keyword_field(value):
            clauses.append({"term": {f"payload.{key}.keyword": value}})
        else:  # absent from the keyword field; a phrase with no terms (punctuation only) must still find it
            clauses.append({"match_phrase": {f"payload.{key}": {"query": value, "zero_terms_query": "all"}}})
    return clauses


def criteria_clauses(criteria: Criteria, dated: Collection[str]) -> list[dict[str, Any]]:
    """Query clauses narrowing to (a superset of) what the criteria select, on the payload fields mapped `date`
    (`dated`); a field mapped otherwise is not narrowed (every hit is decided in Python anyway). The age clause also
    keeps the scope's memories without `created_at`, so they are counted as unreadable. OpenSearch keeps dates to
    the millisecond: the cutoff is rounded up to the next one, never down."""
    clauses: list[dict[str, Any]] = []
    if criteria.created_before is not None and CREATED_AT in dated:
        cutoff = criteria.created_before.astimezone(UTC)
        bound = cutoff.replace(microsecond=cutoff.microsecond // 1000 * 1000) + timedelta(milliseconds=1)
        older = {"range": {f"payload.{CREATED_AT}": {"lt": bound.isoformat(timespec="milliseconds")}}}
        missing = {"bool": {"must_not": [{"exists": {"field": f"payload.{CREATED_AT}"}}]}}
        clauses.append({"bool": {"should": [older, missing], "minimum_should_match": 1}})
    if criteria.expired_before is not None and EXPIRATION_DATE in dated:
        day = criteria.expired_before.isoformat()
        clauses.append({"range": {f"payload.{EXPIRATION_DATE}": {"lt": day, "format": "strict_date_optional_time"}}})
    return clauses


def in_keyword_field(value: str) -> bool:
    """Whether dynamic mapping indexed the value in `.keyword`: `ignore_above` counts UTF-16 code units."""
    return len(value.encode("utf-16-le")) // 2 <= KEYWORD_IGNORE_ABOVE


def hit_total(response: Mapping[str, Any]) -> int:
    """The exact hit count of a search, or a huge number when the server only gives a lower bound."""
    total = response["hits"].get("total")
    if isinstance(total, dict):
        return int(total["value"]) if total.get("relation", "eq") == "eq" else 1 << 62
    return int(total) if total is not None else 1 << 62
