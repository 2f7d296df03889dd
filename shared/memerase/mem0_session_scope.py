"""mem0's session scope strings (the `messages` table's `session_scope`), built and parsed exactly as mem0 builds
them: mem0ai 2.2.1 `_build_session_scope` in `mem0/memory/main.py`."""

from __future__ import annotations

from collections.abc import Mapping

SCOPE_KEYS = ("agent_id", "run_id", "user_id")  # mem0's order: sorted(["user_id", "agent_id", "run_id"])
_ESCAPES = {"%25": "%", "%26": "&", "%3D": "="}


def escape_scope_value(value: str) -> str:
    """mem0 2.2.1's `_escape_scope_value`."""
    return value.replace("%", "%25").replace("&", "%26").replace("=", "%3D")


def build_session_scope(filters: Mapping[str, str]) -> str:
    """mem0 2.2.1's `_build_session_scope`: sorted `key=value` pairs of the entity ids that are set, joined by `&`."""
    return "&".join(f"{key}={escape_scope_value(str(filters[key]))}" for key in SCOPE_KEYS if filters.get(key))


def _unescape(value: str) -> str | None:
    out: list[str] = []
    i = 0
    while i < len(value):
        if value[i] == "%":
            plain = _ESCAPES.get(value[i : i + 3])
            if plain is None:
                return None
            out.append(plain)
            i += 3
        else:
            out.append(value[i])
            i += 1
    return "".join(out)


def parse_session_scope(scope: str) -> dict[str, str] | None:
    """The inverse of `build_session_scope`; None for any string mem0 could not have built (never matched)."""
    if not scope:
        return None
    parsed: dict[str, str] = {}
    for part in scope.split("&"):
        key, sep, raw = part.partition("=")
        value = _unescape(raw) if sep else None
        if key not in SCOPE_KEYS or not value:
            return None
        parsed[key] = value
    return parsed if build_session_scope(parsed) == scope else None  # order, duplicates, escapes: exactly mem0's


def scope_matches(scope: str, filters: Mapping[str, str]) -> bool:
    """True when every filter key is in the session scope with exactly that value."""
    parsed = parse_session_scope(scope)
    return parsed is not None and all(parsed.get(key) == value for key, value in filters.items())
