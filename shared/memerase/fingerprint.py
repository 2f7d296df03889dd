"""The one hasher for scope hashes, request references and idempotency keys: HMAC-SHA256 under a per-deployment
secret, so a guessed e-mail address cannot be confirmed against a receipt, an event or a log line by anyone who does
not hold the secret. Whoever knows a scope (and may erase it) can still ask the deployment for its hash
(`POST /v1/erasures/scope-hash`, `memerase scope-hash`) and compare.

Each kind of value is hashed under its own domain prefix, so a scope hash can never equal a reference's hash. The
key comes from the settings (`scope_hash.secret_arn`: Secrets Manager, deployed; `scope_hash.key`: local) or from
MEMERASE_SCOPE_HASH_KEY; there is no default key: without one, building a hasher fails (see `runtime.hasher`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping

from memerase.errors import ConfigError
from memerase.models import Scope

KEY_ENV = "MEMERASE_SCOPE_HASH_KEY"
MIN_KEY_LENGTH = 32

HasherSource = Callable[[], "ScopeHasher"]


class ScopeHasher:
    def __init__(self, key: str | bytes):
        raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        if len(raw.strip()) < MIN_KEY_LENGTH:
            raise ConfigError(f"the scope hash key must be at least {MIN_KEY_LENGTH} characters long")
        self._key = raw.strip()

    @classmethod
    def from_env(cls) -> ScopeHasher:
        """The key MEMERASE_SCOPE_HASH_KEY holds; a ConfigError (never a fallback key) when it is not set."""
        key = os.environ.get(KEY_ENV, "")
        if not key.strip():
            raise ConfigError(
                "no scope hash key: configure scope_hash.secret_arn (deployed) or scope_hash.key, or set "
                f"{KEY_ENV} (the local tools create one per state directory)"
            )
        return cls(key)

    def scope(self, scope: Scope) -> str:
        """A scope's hash: equal scopes hash equal, whatever order their ids were given in."""
        return self.filters(scope.filters())

    def filters(self, filters: Mapping[str, str]) -> str:
        canonical = json.dumps(dict(filters), sort_keys=True, separators=(",", ":"))
        return self._digest("scope", canonical)

    def reference(self, reference: str) -> str:
        """A requester's reference (e.g. a ticket id), kept only as this hash."""
        return self._digest("reference", reference.strip())

    def idempotency(self, key: str) -> str:
        """An idempotency key (already qualified by its requester), as the jobs table keeps it."""
        return self._digest("idempotency", key)

    def _digest(self, domain: str, value: str) -> str:
        message = f"{domain}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()
