"""The house rules of docs/ARCHITECTURE.md, checked on the source: layers, no cycles, no borrowed private names."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "devocore"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> list[tuple[str, list[str], int]]:
    """(module imported, names imported from it, line) for each import in ``path``."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(alias.name, [], node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names], node.lineno))
    return found


def _engine_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ENGINE.rglob("*.py")}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    modules = _engine_modules()
    graph = {}
    for name, path in modules.items():
        edges = set()
        for module, names, _ in _imports(path, top_level_only):
            # ``from devocore.forecast import series`` imports the submodule devocore.forecast.series
            targets = [f"{module}.{n}" for n in names if f"{module}.{n}" in modules] or [module]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_cycle_finder_finds_a_known_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_engine_modules_import_each_other_without_cycles():
    """Not even through imports inside functions (a lazy import hides a cycle, it does not remove it)."""
    graph = _graph(top_level_only=False)
    assert "devocore.forecast.evaluate" in graph["devocore.forecast"]
    assert _cycle(graph) is None


def test_engine_imports_streamlit_only_in_its_caching_module():
    offenders = [f"{path.relative_to(ROOT)}:{line}" for name, path in _engine_modules().items()
                 for module, _, line in _imports(path, top_level_only=False)
                 if module.split(".")[0] == "streamlit" and name != "devocore.ui_cache"]
    assert offenders == []


def _borrowed_private_names(path: Path, name: str, modules: dict[str, Path]) -> list[str]:
    """``from devocore.x import _y`` and ``x._y`` (x an imported engine module) in ``path``, except a
    package's own private submodules (``from devocore.commands import _train_seg`` inside commands)."""
    package = name.rsplit(".", 1)[0]
    found, aliases = [], {}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("devocore"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                if full in modules:
                    aliases[alias.asname or alias.name] = full
                private = alias.name.startswith("_") and not alias.name.startswith("__")
                if private and node.module != name and not (full in modules and node.module == package):
                    found.append(f"{node.lineno} {full}")
        elif isinstance(node, ast.Import):
            aliases.update({a.asname: a.name for a in node.names if a.asname and a.name in modules})
    for node in ast.walk(ast.parse(path.read_text())):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and node.attr.startswith("_") and not node.attr.startswith("__")):
            found.append(f"{node.lineno} {aliases[node.value.id]}.{node.attr}")
    return [f"{path.name}:{f}" for f in found]


def test_private_name_finder_sees_both_spellings(tmp_path):
    modules = {"devocore.a": tmp_path / "a.py", "devocore.b": tmp_path / "b.py"}
    source = tmp_path / "c.py"
    source.write_text("from devocore import a\nfrom devocore.b import _hidden, shown\na._secret()\n")
    found = _borrowed_private_names(source, "devocore.c", modules)
    assert [f.split(":", 1)[1] for f in found] == ["2 devocore.b._hidden", "3 devocore.a._secret"]


def test_engine_modules_do_not_borrow_private_names_from_other_modules():
    modules = _engine_modules()
    offenders = [f for name, path in modules.items() for f in _borrowed_private_names(path, name, modules)]
    assert offenders == []


def test_engine_defaults_do_not_point_outside_the_repository():
    """Paths to the developers' datasets come from config.datasets_dir() (DEVOCORE_DATASETS), not literals."""
    offenders = [f"{path.relative_to(ROOT)}:{node.lineno}" for path in ENGINE.rglob("*.py")
                 for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Constant) and isinstance(node.value, str)
                 and node.value.startswith("../") and "\n" not in node.value and " " not in node.value]
    assert offenders == []


LOWER = ("devocore.simulate", "devocore.io", "devocore.config", "devocore.style", "devocore.errors",
         "devocore.progress", "devocore.outputs", "devocore.device", "devocore.registry", "devocore.nets",
         "devocore.channels", "devocore.lineage_names")
HIGHER = ("devocore.segmentation", "devocore.lineage", "devocore.gan", "devocore.tracking", "devocore.embedding",
          "devocore.forecast", "devocore.batch", "devocore.batch_tasks", "devocore.subimages", "devocore.train",
          "devocore.commands", "devocore.ui_cache")


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_lower_layers_never_import_the_views_training_or_commands():
    """docs/ARCHITECTURE.md's picture: simulate, io, models and base modules know nothing of the views above."""
    graph = _graph(top_level_only=False)
    offenders = sorted(f"{name} -> {target}" for name, targets in graph.items() if _within(name, LOWER)
                       for target in targets if _within(target, HIGHER))
    assert offenders == []
    assert _within("devocore.segmentation.cells", HIGHER) and not _within("devocore.lineage_names", HIGHER)
