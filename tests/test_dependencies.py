"""Imports inside service/ run one way (design.md): routes -> service -> store -> models -> core,
and a domain reaches another domain only through that domain's ``service.py``.

The checker reads every module's imports with :mod:`ast` (relative ones resolved), so it sees
what the code says rather than what happens to be imported at run time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "service"
# The composition roots: they may import anything, and nothing imports them.
ROOTS = {"service", "service.app", "service.cli", "service.tables"}
# A module's place in its domain: it may import modules of its own rank or lower.
RANKS = {"routes": 4, "service": 3, "store": 2, "models": 1, "schemas": 1}
# Helper modules of a domain rank as its service (units.py, exports.py ...), except reference
# data that schemas and models read.
REFERENCE_DATA = {"categories", "roles"}


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. service.incidents.store
    path: Path

    @property
    def parts(self) -> list[str]:
        return self.name.split(".")

    @property
    def is_root(self) -> bool:
        """A composition root, or a module of the CLI package (a root split by command)."""
        return self.name in ROOTS or self.name.startswith("service.cli.")

    @property
    def domain(self) -> str | None:
        """core, incidents, ...; None for the composition roots and migrations."""
        if self.is_root or len(self.parts) < 3 or self.parts[1] == "migrations":
            return None
        return self.parts[1]

    @property
    def rank(self) -> int:
        leaf = self.parts[-1]
        if self.domain == "core":
            return 0
        if leaf in REFERENCE_DATA:
            return 1
        return RANKS.get(leaf, 3)


def _modules(package_dir: Path, package: str) -> dict[str, Module]:
    found = {}
    for path in sorted(package_dir.rglob("*.py")):
        relative = path.relative_to(package_dir.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if "versions" in parts:  # generated migration scripts
            continue
        name = ".".join(parts)
        found[name] = Module(name, path)
    assert package in found, f"{package}/__init__.py not found"
    return found


def _imports(module: Module, known: dict[str, Module]) -> set[str]:
    """The package's modules that ``module`` imports (absolute names)."""
    tree = ast.parse(module.path.read_text(encoding="utf-8"))
    is_package = module.path.name == "__init__.py"
    here = module.parts if is_package else module.parts[:-1]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                candidate = f"{prefix}.{alias.name}"
                targets.add(candidate if candidate in known else prefix)
    return {t for t in targets if t in known and t != module.name}


def violations(package_dir: Path, package: str = PACKAGE) -> list[str]:
    """Every import that runs the wrong way, as ``importer -> imported: rule``."""
    known = _modules(package_dir, package)
    found = []
    for module in known.values():
        for name in sorted(_imports(module, known)):
            target = known[name]
            rule = _broken_rule(module, target)
            if rule:
                found.append(f"{module.name} -> {target.name}: {rule}")
    return sorted(found)


def _broken_rule(importer: Module, imported: Module) -> str | None:
    if imported.is_root and importer.domain is not None:
        return "nothing imports the composition roots (app, cli, tables)"
    if importer.domain is None or imported.domain is None:
        return None  # the roots and the migrations wire everything together
    if importer.domain == "core":
        return None if imported.domain == "core" else "core imports no domain"
    if imported.domain == "core":
        return None
    if importer.domain != imported.domain:
        if imported.parts[-1] != "service":
            return "another domain is reached only through its service.py"
        if importer.rank < RANKS["service"]:
            return "only a domain's service and routes talk to other domains"
        return None
    if imported.rank > importer.rank:
        return "imports run routes -> service -> store -> models -> core"
    return None


def test_service_imports_run_one_way():
    assert violations(ROOT / PACKAGE) == []


def test_every_domain_has_its_service_and_routes():
    domains = {m.domain for m in _modules(ROOT / PACKAGE, PACKAGE).values()} - {None, "core"}
    assert domains == {
        "auth",
        "layers",
        "incidents",
        "dispatch",
        "plans",
        "hotspots",
        "open311",
        "organisation",
        "reports",
        "statistics",
        "casefiles",
        "ledger",
        "meetings",
        "pages",
    }
    for domain in domains:
        assert (ROOT / PACKAGE / domain / "service.py").is_file(), domain
        assert (ROOT / PACKAGE / domain / "routes.py").is_file(), domain


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "service" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "service"


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"a/store.py": "from . import service\n", "a/service.py": ""},
            "service.a.store -> service.a.service: "
            "imports run routes -> service -> store -> models "
            "-> core",
        ),
        (
            {"a/service.py": "from ..b import store\n", "b/store.py": ""},
            "service.a.service -> service.b.store: another domain is reached only through its "
            "service.py",
        ),
        (
            {"a/models.py": "from ..b.service import thing\n", "b/service.py": ""},
            "service.a.models -> service.b.service: "
            "only a domain's service and routes talk to other "
            "domains",
        ),
        (
            {"core/db.py": "import service.a.models\n", "a/models.py": ""},
            "service.core.db -> service.a.models: core imports no domain",
        ),
        (
            {"a/routes.py": "from service.app import create_app\n", "app.py": ""},
            "service.a.routes -> service.app: nothing imports the composition roots (app, cli, "
            "tables)",
        ),
    ],
)
def test_checker_catches_an_arrow_the_wrong_way(tmp_path, files, expected):
    package_dir = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "b/__init__.py": "",
            "core/__init__.py": "",
            **files,
        },
    )
    assert violations(package_dir) == [expected]


def test_checker_allows_the_right_way(tmp_path):
    package_dir = _tree(
        tmp_path,
        {
            "__init__.py": "",
            "a/__init__.py": "",
            "b/__init__.py": "",
            "core/__init__.py": "",
            "core/db.py": "",
            "a/routes.py": "from . import service\nfrom ..b import service as b\n",
            "a/service.py": "from . import store\nfrom ..core import db\n",
            "a/store.py": "from .models import Thing\n",
            "a/models.py": "from ..core.db import x\n",
            "b/service.py": "",
            "app.py": "from .a import routes\n",
        },
    )
    assert violations(package_dir) == []


# The only modules that end a transaction: the request's unit of work, the CLI's and start-up's.
COMMITTERS = {"service.core.db", "service.core.deps", "service.cli", "service.app"}


def _ends_transactions(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("commit", "rollback")
    ]


def test_stores_and_services_never_commit():
    found = {
        m.name: lines
        for m in _modules(ROOT / PACKAGE, PACKAGE).values()
        if m.name not in COMMITTERS and (lines := _ends_transactions(m.path))
    }
    assert found == {}


def test_commit_checker_sees_a_commit(tmp_path):
    path = tmp_path / "store.py"
    path.write_text(
        "def save(session):\n    session.add(1)\n    session.commit()\n", encoding="utf-8"
    )
    assert _ends_transactions(path) == [3]
