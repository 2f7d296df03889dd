"""The deployment package's size, from what is installed in this venv (no download, no build).

The Lambda layer (`template.yaml`, `MemeraseLayer`, `BuildMethod: python3.12`) is what `pip install -r
shared/requirements.txt` installs plus the `memerase` package; each function adds its own folder under functions/.
Here the layer's distributions are the closure of `shared/requirements.in` (extras and markers evaluated) over the
distributions installed in this venv, and a distribution's size is the sum of the sizes on disk of the files its
RECORD lists (the .pyc files pip compiled included). The venv runs Python 3.11, the layer is built for 3.12: the
figures are those of the same versions' files, not of a `sam build`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "shared" / "requirements.in"  # the ranges; requirements.txt is their hashed lock
NEVER_IN_LAYER = ("rich", "mem0ai")  # local tools and tests only


@dataclass
class LayerSize:
    dists: dict[str, int] = field(default_factory=dict)  # distribution name -> bytes
    library: int = 0  # shared/memerase, sources only

    @property
    def total(self) -> int:
        return sum(self.dists.values()) + self.library


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def closure(requirements: list[Requirement]) -> set[str]:
    """Every installed distribution the requirements pull in, by normalised name."""
    seen: set[str] = set()
    pending = [(r, frozenset(r.extras)) for r in requirements]
    base_env = {k: str(v) for k, v in default_environment().items()}
    while pending:
        requirement, extras = pending.pop()
        name = _normal(requirement.name)
        key = name if not extras else f"{name}[{','.join(sorted(extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for text in metadata.requires(requirement.name) or []:
            dependency = Requirement(text)
            marker = dependency.marker
            if marker is None or any(marker.evaluate({**base_env, "extra": e}) for e in extras or {""}):
                pending.append((dependency, frozenset(dependency.extras)))
    return {key.split("[", 1)[0] for key in seen}


def dist_size(name: str) -> int:
    total = 0
    for file in metadata.distribution(name).files or []:
        path = Path(str(file.locate()))
        if path.is_file():
            total += path.stat().st_size
    return total


def tree_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def layer_size() -> LayerSize:
    names = closure(_requirements(REQUIREMENTS))
    return LayerSize(
        dists={name: dist_size(name) for name in sorted(names)}, library=tree_size(ROOT / "shared" / "memerase")
    )


def forbidden_in_layer() -> list[str]:
    """Distributions that must never ship in the layer but that its requirements pull in."""
    names = closure(_requirements(REQUIREMENTS))
    return [name for name in NEVER_IN_LAYER if _normal(name) in names]
