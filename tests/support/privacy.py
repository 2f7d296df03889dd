"""The privacy scans' common part: what was captured, and where a secret appears in it, raw or encoded."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus


@dataclass
class Captured:
    """Everything the operations left behind, as (source, text) pairs; `allowed[i]` holds the secrets item i may
    carry (the caller's own request and reads)."""

    items: list[tuple[str, str]] = field(default_factory=list)
    allowed: list[frozenset[str]] = field(default_factory=list)

    def add(self, source: str, text: str, allowed: frozenset[str] = frozenset()) -> None:
        self.items.append((source, text))
        self.allowed.append(allowed)

    def count(self, prefix: str) -> int:
        return sum(1 for source, _ in self.items if source.startswith(prefix))


def variants(secret: str) -> set[str]:
    """The secret as it may appear: raw, JSON-escaped, URL-encoded (path and form), compared in lower case."""
    forms = {secret, json.dumps(secret)[1:-1], quote(secret), quote(secret, safe=""), quote_plus(secret)}
    return {f.lower() for f in forms}


def leaks(captured: Captured, secrets: list[str]) -> list[tuple[str, str, str]]:
    """(source, secret, excerpt) for every secret found where it is not allowed."""
    found = []
    patterns = {s: variants(s) for s in secrets}
    for (source, text), allowed in zip(captured.items, captured.allowed, strict=True):
        lower = text.lower()
        for secret, forms in patterns.items():
            if secret in allowed:
                continue
            at = next((lower.find(f) for f in forms if f in lower), -1)
            if at >= 0:
                found.append((source, secret, text[max(0, at - 80) : at + 80]))
    return found


def report(found: list[tuple[str, str, str]]) -> str:
    return "\n".join(f"{source}: {secret} in ...{excerpt}..." for source, secret, excerpt in found)
