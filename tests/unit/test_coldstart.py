"""`memerase.coldstart.cold_import`: a handler's cold import runs with Python's cyclic collector paused, boto3
included; then what it loaded is frozen and the collector resumes, whatever happened (issue #9, start-up cost)."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from memerase.coldstart import cold_import
from tests.unit.test_handler_imports import HANDLERS, ROOT, S3_ONLY, handler_environ

PROBE = """
import gc, importlib, json, sys
before = [generation["collections"] for generation in gc.get_stats()]
importlib.import_module(sys.argv[1])
after = [generation["collections"] for generation in gc.get_stats()]
print(json.dumps({"collections": [a - b for a, b in zip(after, before)], "enabled": gc.isenabled(),
                  "frozen": gc.get_freeze_count(), "boto3": "boto3" in sys.modules}))
"""


@pytest.fixture
def collector() -> Iterator[None]:
    """The collector as this process had it, restored after the test (and nothing left frozen by it)."""
    was_enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    yield
    if gc.get_freeze_count() > frozen:
        gc.unfreeze()
    (gc.enable if was_enabled else gc.disable)()


@pytest.mark.usefixtures("collector")
def test_the_collector_is_paused_inside_and_resumes_with_what_was_loaded_frozen() -> None:
    # Given the collector on
    gc.enable()
    frozen = gc.get_freeze_count()
    # When a block runs under cold_import
    with cold_import():
        inside = gc.isenabled()
    # Then the collector was off inside, is on again after, and what exists now is frozen (that boto3 loads inside the
    # pause is checked in a fresh interpreter below: here the test session has loaded it long before)
    assert inside is False
    assert gc.isenabled() is True
    assert gc.get_freeze_count() > frozen


@pytest.mark.usefixtures("collector")
def test_a_failed_import_still_resumes_the_collector_and_freezes_nothing() -> None:
    # Given the collector on
    gc.enable()
    frozen = gc.get_freeze_count()
    # When the block raises (an import that fails)
    with pytest.raises(ImportError), cold_import():
        raise ImportError("no module named nowhere")
    # Then the collector is on again and nothing was frozen
    assert gc.isenabled() is True
    assert gc.get_freeze_count() == frozen


@pytest.mark.usefixtures("collector")
def test_a_collector_that_was_off_stays_off() -> None:
    # Given the collector turned off by the caller
    gc.disable()
    # When a block runs under cold_import
    with cold_import():
        pass
    # Then it is still off: cold_import never turns on what it did not turn off
    assert gc.isenabled() is False


@pytest.mark.parametrize("handler", HANDLERS)
def test_a_handler_loads_its_modules_with_the_collector_paused_and_leaves_it_on(handler: str) -> None:
    # Given a fresh interpreter, outside Lambda
    command = [sys.executable, "-c", PROBE, f"functions.{handler}.app"]
    # When the handler module is imported
    done = subprocess.run(
        command, cwd=ROOT, env=handler_environ(S3_ONLY), capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout)
    # Then the collector did not run while the modules loaded (boto3's included; unpaused, over 70 young and 7 middle
    # collections): at most a few young ones, for what the module builds after its imports (its resolver, its
    # models); it is on afterwards, and what the import loaded is frozen
    young, middle, oldest = result["collections"]
    assert (young <= 3, middle, oldest) == (True, 0, 0)
    assert result["enabled"] is True
    assert result["boto3"] is True
    assert result["frozen"] > 10_000
