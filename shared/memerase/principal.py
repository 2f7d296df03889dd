"""Who is calling, and what they may erase. Built from the Lambda authorizer's context, never from the request."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from memerase.errors import Forbidden, Unauthorized
from memerase.models import Scope


class Principal(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)

    key_id: str
    admin: StrictBool = False
    scopes: list[Scope] = Field(default_factory=list)

    def allows(self, scope: Scope) -> bool:
        """A requested scope is allowed when it is at least as narrow as one of the key's scopes."""
        return self.allows_filters(scope.filters())

    def allows_filters(self, wanted: Mapping[str, str]) -> bool:
        """The same rule for raw filter values (e.g. ids read back from a store, which need not be valid input)."""
        if self.admin:
            return True
        return any(all(wanted.get(k) == v for k, v in granted.filters().items()) for granted in self.scopes)

    def require(self, scope: Scope) -> None:
        if not self.allows(scope):
            raise Forbidden("This erasure is outside the scope of your API key")

    def require_admin(self) -> None:
        if not self.admin:
            raise Forbidden("This operation needs an admin API key")

    @property
    def memory_scopes(self) -> Sequence[Scope] | None:
        """The scopes a single memory must lie in; None means anywhere (admin)."""
        return None if self.admin else self.scopes

    def context(self) -> dict[str, str]:
        """The authorizer context API Gateway hands to handlers: string values only."""
        return {
            "key_id": self.key_id,
            "admin": "true" if self.admin else "false",
            "scopes": json.dumps([s.filters() for s in self.scopes]),
        }

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Principal:
        if not context or "key_id" not in context:
            raise Unauthorized("Missing or invalid API key")
        scopes = context.get("scopes") or "[]"
        raw = json.loads(scopes) if isinstance(scopes, str) else scopes
        return cls(
            key_id=str(context["key_id"]),
            admin=str(context.get("admin")).lower() == "true",
            scopes=[Scope.of(**s) for s in raw],
        )
