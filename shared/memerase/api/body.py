"""A request's JSON body, read as a strict reader would before Powertools parses it: one object, each key once, no
NaN or Infinity, numbers of a sane length, strings of real Unicode, and nesting bounded before any parser recurses
(Python's does: 100,000 `[` end in a RecursionError). Powertools alone would take the first element of an array body
(its form-data rule) and answer a RecursionError with a 500."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

MAX_DEPTH = 16  # the deepest body a route takes is 3 levels ({"memories": [{"memory_id": ...}]})
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_KIND = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean", type(None): "null"}


class BodyRefused(ValueError):
    """Why a body is refused, in words that never quote it."""


def body_problem(event: Mapping[str, Any]) -> str | None:
    """Why the event's body cannot be a route's request body (None when it can, or when there is none)."""
    raw = event.get("body")
    if not raw:
        return None
    try:
        read_object(_text(raw, bool(event.get("isBase64Encoded"))))
    except BodyRefused as refused:
        return str(refused)
    return None


def read_object(text: str) -> dict[str, Any]:
    """The body as one JSON object, or BodyRefused naming what is wrong with it."""
    if nesting(text) > MAX_DEPTH:
        raise BodyRefused(f"the request body nests JSON deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except BodyRefused:
        raise
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BodyRefused(f"the request body is not valid JSON ({exc.msg} at {where})") from None
    except ValueError:  # an integer longer than Python's limit on digits
        raise BodyRefused("a number in the request body is too long") from None
    if not isinstance(value, dict):
        raise BodyRefused(f"the request body must be one JSON object, not {_KIND.get(type(value), 'a value')}")
    _check_strings(value)
    return value


def nesting(text: str) -> int:
    """How deep the brackets outside strings go (counted without parsing, so without recursion)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _text(raw: str, encoded: bool) -> str:
    try:
        return base64.b64decode(raw, validate=True).decode("utf-8") if encoded else raw
    except (binascii.Error, UnicodeDecodeError):
        raise BodyRefused("the request body is not UTF-8 JSON") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        raise BodyRefused("the request body gives the same key twice in one object")
    return found


def _no_constant(_name: str) -> Any:
    raise BodyRefused("the request body holds NaN or Infinity, which JSON does not allow")


def _check_strings(value: Any) -> None:
    """Every key and string is real Unicode: a lone surrogate (`"\\ud800"`) cannot be stored or hashed as UTF-8.
    The recursion is bounded: `nesting` already refused anything deeper than MAX_DEPTH."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BodyRefused("the request body holds a string that is not valid Unicode (a lone surrogate)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key)
            _check_strings(item)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item)
