"""The scope hash key of the local tools, when the configuration has none (`scope_hash`) and MEMERASE_SCOPE_HASH_KEY
is not set: with a configuration (its jobs, receipts and audit rows live in the stores and tables it names), one key
per state directory (MEMERASE_STATE_DIR, default ~/.memerase), created on first use, readable by its owner only; on
the embedded stand-ins (no configuration: everything lives and dies with the process), a key for this process."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from memerase.fingerprint import KEY_ENV
from memerase.settings import CONFIG_ENV, load_settings

STATE_ENV = "MEMERASE_STATE_DIR"
KEY_FILE = "scope-hash.key"


def state_dir() -> Path:
    return Path(os.environ.get(STATE_ENV) or Path.home() / ".memerase")


def ensure_scope_key() -> None:
    """Make sure the library finds a scope hash key (it never falls back to one of its own)."""
    if os.environ.get(KEY_ENV, "").strip():
        return
    if not os.environ.get(CONFIG_ENV, "").strip():
        os.environ[KEY_ENV] = secrets.token_urlsafe(48)
        return
    if load_settings().scope_hash is not None:
        return
    os.environ[KEY_ENV] = _state_key(state_dir() / KEY_FILE)


def _state_key(path: Path) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it meanwhile: use theirs
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    return path.read_text(encoding="utf-8").strip()
