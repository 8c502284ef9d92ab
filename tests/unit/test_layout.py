"""The import direction prompts <- tools <- agents <- graph <- copyloop (front door) holds.

``copyloop.errors`` (dependency-free) and ``copyloop.settings`` (pydantic only) are leaves every layer may use.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["prompts", "tools", "agents", "graph"]  # each may import only from the ones before it
FRONT = {"copyloop.prompts": 0, "copyloop.tools": 1, "copyloop.agents": 2, "copyloop.graph": 3}
LEAVES = {"copyloop.errors", "copyloop.settings", "copyloop"}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def _layer_of(module: str) -> int | None:
    for prefix, rank in FRONT.items():
        if module == prefix or module.startswith(prefix + "."):
            return rank
    if module.startswith("copyloop.training"):
        return 4
    if module.startswith("copyloop.") and module not in LEAVES:
        return 5  # the front door
    return None


@pytest.mark.parametrize("layer", LAYERS)
def test_layer_imports_only_lower_layers(layer: str) -> None:
    rank = LAYERS.index(layer)
    bad = []
    for path in sorted((ROOT / layer).rglob("*.py")):
        for mod in _imports(path):
            other = _layer_of(mod)
            if other is not None and other > rank:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "import direction broken:\n" + "\n".join(bad)


def test_only_copyloop_namespace_is_packaged() -> None:
    import tomllib

    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    packages = cfg["packages"]
    assert packages and all(p == "copyloop" or p.startswith("copyloop.") for p in packages)
    for required in ("agents", "graph", "tools", "prompts"):
        assert cfg["package-dir"][f"copyloop.{required}"] == required


# --- the front door, grouped by the faces users meet (issue #12) ---------------------------------

FACES = ["batch", "chat", "slack", "service", "experiments"]
"""Subpackages of copyloop/ that each serve one face. A face may use the core of the front door
(engine, settings, errors, ...) and the layers below, plus the faces listed in FACE_USES; the core
never imports a face, so each face can be read (and removed) on its own."""
# slack: /copy experiment starts and shows A/B experiments in a thread (issue #13)
FACE_USES = {"slack": {"chat", "experiments"}, "service": {"chat", "batch", "experiments"}, "experiments": set(), "batch": set(), "chat": set()}


def _face_of(module: str) -> str | None:
    for face in FACES:
        if module == f"copyloop.{face}" or module.startswith(f"copyloop.{face}."):
            return face
    return None


def test_faces_live_in_their_own_folders() -> None:
    top = sorted(p.stem for p in (ROOT / "copyloop").glob("*.py"))
    stray = [m for m in top if m.split("_")[0] in ("batch", "session", "slack", "jobstore", "checkpointer", "turns")]
    assert not stray, f"face modules at the top of copyloop/: {stray}"
    for face in ("batch", "chat", "slack"):
        assert (ROOT / "copyloop" / face / "__init__.py").is_file()


@pytest.mark.parametrize("face", FACES)
def test_a_face_imports_only_the_core_and_the_faces_it_builds_on(face: str) -> None:
    folder = ROOT / "copyloop" / face
    if not folder.is_dir():
        pytest.skip(f"copyloop/{face}/ does not exist yet")
    allowed = FACE_USES[face] | {face}
    bad = []
    for path in sorted(folder.rglob("*.py")):
        for mod in _imports(path):
            other = _face_of(mod)
            if other is not None and other not in allowed:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "face import direction broken:\n" + "\n".join(bad)


def test_the_core_of_the_front_door_imports_no_face() -> None:
    bad = []
    for path in sorted((ROOT / "copyloop").glob("*.py")):
        if path.name == "__init__.py":
            continue
        for mod in _imports(path):
            if _face_of(mod) is not None:
                bad.append(f"{path.relative_to(ROOT)} imports {mod}")
    assert not bad, "the core imports a face:\n" + "\n".join(bad)
