"""Neptune's openCypher dialect mapped onto FalkorDB's, token by token (the stand-in's only query rewriting).

FalkorDB evaluates every query. Neptune differs from it in a few places, and only those are rewritten here, on a
tokenised query (string literals, backtick names and comments are never touched):

- Neptune's element id `~id` is an ordinary property named `~id` in FalkorDB, so ``{`~id`: $x}`` in a pattern and
  ``n.`~id` `` work unchanged; `id(x)` (Neptune: the element id) becomes ``(x.`~id`)``, and `properties(x)` and
  `keys(x)` leave `~id` out (`neptune.dropId`, a list comprehension); result columns keep their original names.
- `SET x = map` replaces every property but keeps the element id on Neptune: it becomes
  ``SET x = neptune.keepId(map, x.`~id`)`` (a FalkorDB JavaScript UDF, loaded by `falkordb_process`).
- `CALL neptune.graph.pg_schema() YIELD schema` becomes `WITH $<param> AS schema`: the stand-in computes the schema
  from the graph's data and passes it as a parameter.
- `CALL neptune.algo.vectors.upsert(node, embedding) [YIELD success]` is accepted and the embedding dropped (the
  stand-in keeps no vector index): it becomes `WITH *, true AS success` (or `WITH *` without YIELD).

Any other `neptune.*` procedure reaches FalkorDB unchanged and is refused there as an unknown procedure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCHEMA_PARAM = "__neptune_standin_pg_schema"
KEEP_ID_FUNCTION = "neptune.keepId"
DROP_ID_FUNCTION = "neptune.dropId"

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>//[^\n]*|/\*.*?\*/)
  | (?P<string>'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*")
  | (?P<quoted>`(?:``|[^`])*`)
  | (?P<param>\$(?:\w+|`(?:``|[^`])*`))
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\+=|<>|<=|>=|=~|\.\.|->|<-|.)
    """,
    re.VERBOSE | re.DOTALL,
)
_CLAUSE_WORDS = frozenset(
    ["WITH", "RETURN", "MATCH", "OPTIONAL", "MERGE", "CREATE", "SET", "DELETE", "DETACH", "REMOVE", "UNWIND", "CALL"]
    + ["ON", "WHERE", "ORDER", "SKIP", "LIMIT", "UNION", "FOREACH", "YIELD"]
)
_ITEM_ENDS = frozenset([",", "|", ";"])
_ELEMENT_FUNCTIONS = {
    "ID": "({v}.`~id`)",
    "PROPERTIES": DROP_ID_FUNCTION + "(properties({v}))",
    "KEYS": "[__neptune_key IN keys({v}) WHERE __neptune_key <> '~id']",
}
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        return self.text.upper() if self.kind == "name" else ""


@dataclass
class Rewritten:
    """The FalkorDB query, the column renames back to Neptune's names, and what the stand-in must add or do."""

    query: str
    columns: dict[str, str] = field(default_factory=dict)
    needs_schema: bool = False
    creates: bool = False


def tokenize(query: str) -> list[Token]:
    """Significant tokens (no whitespace or comments)."""
    tokens = []
    for match in _TOKEN.finditer(query):
        kind = match.lastgroup or "op"
        if kind not in ("space", "comment"):
            tokens.append(Token(kind, match.group(), match.start(), match.end()))
    return tokens


def rewrite(query: str) -> Rewritten:
    tokens = tokenize(query)
    out = Rewritten(query)
    edits: list[tuple[int, int, str]] = []
    i = 0
    while i < len(tokens):
        step = (
            _element_function(tokens, i, out, edits)
            or _procedure(tokens, i, out, edits)
            or _set_clause(tokens, i, edits)
        )
        if tokens[i].word in ("CREATE", "MERGE") and not _after_dot(tokens, i):
            out.creates = True
        i += step or 1
    text = query
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    out.query = text
    return out


def _after_dot(tokens: list[Token], i: int) -> bool:
    return i > 0 and tokens[i - 1].text in (".", ":")


def _texts(tokens: list[Token], i: int, n: int) -> list[str]:
    return [t.text for t in tokens[i : i + n]]


def _element_function(tokens: list[Token], i: int, out: Rewritten, edits: list[tuple[int, int, str]]) -> int:
    """`id(x)`, `properties(x)`, `keys(x)`: Neptune's element id is no property. The column keeps the original name."""
    name = tokens[i].word
    if name not in _ELEMENT_FUNCTIONS or _after_dot(tokens, i) or len(tokens) < i + 4:
        return 0
    _, open_, var, close = tokens[i : i + 4]
    if open_.text != "(" or close.text != ")" or var.kind not in ("name", "quoted"):
        return 0
    replacement = _ELEMENT_FUNCTIONS[name].format(v=var.text)
    edits.append((tokens[i].start, close.end, replacement))
    out.columns[replacement] = "".join(t.text for t in tokens[i : i + 4])
    return 4


def _procedure(tokens: list[Token], i: int, out: Rewritten, edits: list[tuple[int, int, str]]) -> int:
    """Neptune's procedures that mem0 calls: `neptune.graph.pg_schema` and `neptune.algo.vectors.upsert`."""
    if tokens[i].word != "CALL":
        return 0
    name_end = i + 1
    while name_end + 1 < len(tokens) and tokens[name_end + 1].text == ".":
        name_end += 2
    name = "".join(_texts(tokens, i + 1, name_end - i)).lower()
    if name not in ("neptune.graph.pg_schema", "neptune.algo.vectors.upsert") or len(tokens) <= name_end + 1:
        return 0
    close = _matching(tokens, name_end + 1)
    end, alias = close, ""
    if close + 2 < len(tokens) and tokens[close + 1].word == "YIELD":
        end, alias = close + 2, tokens[close + 2].text
        if end + 2 < len(tokens) and tokens[end + 1].word == "AS":
            end, alias = end + 2, tokens[end + 2].text
    first = i == 0
    if name.endswith("pg_schema"):
        out.needs_schema = True
        value = f"${SCHEMA_PARAM} AS {alias or 'schema'}"
    else:
        value = f"true AS {alias}" if alias else ""
    star = "" if first else "*"
    items = ", ".join(x for x in (star, value) if x) or "true AS success"
    edits.append((tokens[i].start, tokens[end].end, f"WITH {items}"))
    return end - i + 1


def _matching(tokens: list[Token], open_index: int) -> int:
    """Index of the bracket closing the one at `open_index`."""
    depth = 0
    for j in range(open_index, len(tokens)):
        if tokens[j].text in _OPEN:
            depth += 1
        elif tokens[j].text in _CLOSE:
            depth -= 1
            if depth == 0:
                return j
    raise ValueError("unbalanced brackets in query")


def _set_clause(tokens: list[Token], i: int, edits: list[tuple[int, int, str]]) -> int:
    """In `SET` items, `x = expr` (replace all properties) keeps `x`'s element id. Scanning goes on at the next
    token (returns 1), so `id(x)` inside the items is rewritten too."""
    if tokens[i].word != "SET" or _after_dot(tokens, i):
        return 0
    j = i + 1
    while j < len(tokens):
        expression = j + 2
        is_replace = j + 1 < len(tokens) and tokens[j].kind in ("name", "quoted") and tokens[j + 1].text == "="
        end = _item_end(tokens, expression if is_replace else j)
        if is_replace and end > expression:
            var = tokens[j].text
            edits.append((tokens[expression].start, tokens[expression].start, f"{KEEP_ID_FUNCTION}("))
            edits.append((tokens[end - 1].end, tokens[end - 1].end, f", {var}.`~id`)"))
        if end < len(tokens) and tokens[end].text == ",":
            j = end + 1
            continue
        break
    return 1


def _item_end(tokens: list[Token], j: int) -> int:
    """Index just past one SET item or expression: the next top-level comma, clause word or enclosing bracket."""
    depth = 0
    while j < len(tokens):
        token = tokens[j]
        if token.text in _OPEN:
            depth += 1
        elif token.text in _CLOSE:
            if depth == 0:
                return j
            depth -= 1
        elif depth == 0 and (token.text in _ITEM_ENDS or (token.word in _CLAUSE_WORDS and not _after_dot(tokens, j))):
            return j
        j += 1
    return j
