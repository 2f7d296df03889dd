"""Composition: the settings object turned into a ready engine. The one place stores get built."""

from __future__ import annotations

from memerase.engine import Eraser
from memerase.history import HistoryStore
from memerase.settings import Settings, load_settings
from memerase.stores.factory import build_target


def build_eraser(settings: Settings | None = None) -> Eraser:
    settings = settings or load_settings()
    history = HistoryStore(settings.history.table_name, settings.history.region_name) if settings.history else None
    return Eraser([build_target(t) for t in settings.targets], history=history, allow_reset=settings.allow_reset)
