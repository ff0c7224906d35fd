"""The spatial core stays pure: geo/ imports no web, database or map library (design.md)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "geo": {
        "fastapi",
        "starlette",
        "sqlalchemy",
        "geoalchemy2",
        "folium",
        "service",
        "maps",
        "layers",
    },
    "maps": {"fastapi", "starlette", "sqlalchemy", "geoalchemy2", "service"},
    "layers": {"fastapi", "starlette", "sqlalchemy", "geoalchemy2", "folium", "service", "maps"},
}


def _imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_its_layer_allows(package):
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    offending = {
        str(f.relative_to(ROOT)): sorted(_imported_roots(f) & FORBIDDEN[package]) for f in files
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_checker_sees_forbidden_imports(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import fastapi\nfrom sqlalchemy.orm import Session\n", encoding="utf-8")
    assert _imported_roots(bad) >= {"fastapi", "sqlalchemy"}
