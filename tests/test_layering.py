"""The direction of imports is the architecture: cli → app → {datapath, cage} → profiles → wg.

Checked with ``ast`` over the source, so a forbidden import fails here before it tangles
the layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src" / "wirecage"

# What each layer may import from inside wirecage (errors and logs are shared by all but wg).
ALLOWED = {
    "wg": {"wg"},
    "profiles": {"profiles", "wg", "errors", "logs"},
    "cage": {"cage", "profiles", "wg", "errors", "logs"},
    "datapath": {"datapath", "profiles", "wg", "errors", "logs"},
    "app": {"app", "cage", "datapath", "profiles", "wg", "errors", "logs"},
    "cli": {"cli", "app", "profiles", "wg", "errors", "logs", "__init__"},
}
# The protocol core stays pure: the standard library and cryptography only.
WG_THIRD_PARTY = {"cryptography"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_layers_import_only_downwards():
    problems = []
    for layer, allowed in ALLOWED.items():
        for path in sorted((SRC / layer).rglob("*.py")):
            for name in _imports(path):
                parts = name.split(".")
                if parts[0] != "wirecage":
                    continue
                target = parts[1] if len(parts) > 1 else "__init__"
                if target not in allowed:
                    problems.append(f"{path.relative_to(SRC)} imports {name}")
    assert not problems, "\n".join(problems)


def test_wg_core_imports_only_stdlib_and_cryptography():
    import sys

    problems = []
    for path in sorted((SRC / "wg").rglob("*.py")):
        for name in _imports(path):
            top = name.split(".")[0]
            if top in ("wirecage", "__future__") or top in sys.stdlib_module_names:
                continue
            if top not in WG_THIRD_PARTY:
                problems.append(f"{path.relative_to(SRC)} imports {name}")
    assert not problems, "\n".join(problems)
