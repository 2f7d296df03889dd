"""The layer's dependencies are pinned: shared/requirements.txt (what `sam build` installs into the layer) is the
pip-compile lock of shared/requirements.in, exact versions with hashes, and it still satisfies every range there."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "shared" / "requirements.in"
LOCK = ROOT / "shared" / "requirements.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def ranges(text: str) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [Requirement(line) for line in lines if line]


def pins(text: str) -> dict[str, tuple[str, int]]:
    """The lock's pins: normalised name -> (version, how many hashes the entry carries)."""
    found: dict[str, tuple[str, int]] = {}
    current = None
    for line in text.splitlines():
        if match := PIN.match(line):
            current = canonicalize_name(match.group(1))
            found[current] = (match.group(2), 0)
        elif current and "--hash=sha256:" in line:
            version, hashes = found[current]
            found[current] = (version, hashes + line.count("--hash=sha256:"))
    return found


def unmet(spec: list[Requirement], lock: dict[str, tuple[str, int]]) -> list[str]:
    """Every range of the spec the lock misses (absent, or pinned outside it), and every pin without a hash."""
    problems = []
    for requirement in spec:
        name = canonicalize_name(requirement.name)
        if name not in lock:
            problems.append(f"{name}: not in the lock")
        elif not requirement.specifier.contains(lock[name][0], prereleases=True):
            problems.append(f"{name}: locked at {lock[name][0]}, outside {requirement.specifier}")
    problems += [f"{name}: no hash" for name, (_, hashes) in lock.items() if not hashes]
    return problems


def test_the_lock_pins_every_layer_requirement_within_its_range_with_hashes() -> None:
    # Given the layer's ranges and its lock
    spec, lock = ranges(SPEC.read_text()), pins(LOCK.read_text())
    assert spec and lock
    # When each range is looked up in the lock
    # Then each is pinned at a version it allows, and every pin carries hashes
    assert unmet(spec, lock) == []


def test_the_lock_pins_what_the_requested_extras_pull_in() -> None:
    # Given the layer's requirements with extras (aws-lambda-powertools[parser,tracer]), installed in this venv
    lock = pins(LOCK.read_text())
    with_extras = [r for r in ranges(SPEC.read_text()) if r.extras]
    assert with_extras
    # When the dependencies those extras add are listed
    added = [
        Requirement(text)
        for r in with_extras
        for text in metadata.requires(r.name) or []
        if Requirement(text).marker is not None
        and any(Requirement(text).marker.evaluate({"extra": extra}) for extra in r.extras)  # type: ignore[union-attr]
    ]
    # Then each is pinned in the lock too
    assert added
    assert [str(r) for r in added if canonicalize_name(r.name) not in lock] == []


def test_the_check_refuses_a_lock_that_left_a_range() -> None:
    # Given a range and a lock pinned outside it, and a lock entry without a hash
    spec = ranges("boto3>=1.40\npydantic>=2.7")
    lock = pins("boto3==1.35.0 \\\n    --hash=sha256:00\npydantic==2.8.0\n")
    # When the check runs
    problems = unmet(spec, lock)
    # Then it names both problems
    assert problems == ["boto3: locked at 1.35.0, outside >=1.40", "pydantic: no hash"]


CLI_ONLY = ("rich",)


def test_the_package_and_the_layer_ask_for_the_same_ranges() -> None:
    # Given pyproject's runtime dependencies and the layer's ranges
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    # When they are compared, name by name
    declared = {canonicalize_name(Requirement(d).name): str(Requirement(d)) for d in project}
    for name in CLI_ONLY:  # the local CLI's, never imported by a function: not in the layer
        declared.pop(name)
    layer = {canonicalize_name(r.name): str(r) for r in ranges(SPEC.read_text())}
    # Then both name the same ranges and extras (the lock is made from the layer's)
    assert declared == layer
