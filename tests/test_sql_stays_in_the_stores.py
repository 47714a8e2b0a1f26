"""Each app keeps its SQL in its store (DESIGN.md: "store/: the only place with SQL"): in `fake_pagerduty/` only
`store/` (and `migrations/`) may hold an SQL statement; in `demo_monitor/` only its store modules
(`store*.py`, `database*.py`, a `store/` package) and `migrations/`.

Every string literal of every other module is checked (f-strings with `x` for each placeholder); docstrings are
not, so prose may name SELECT or COMMIT. Fast: it parses files, it runs nothing."""

from __future__ import annotations

import ast
import fnmatch
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# app package -> where its SQL may live (glob patterns on the path inside the package)
ALLOWED = {
    "fake_pagerduty": ["store/*", "migrations/*"],
    "demo_monitor": ["store*.py", "database*.py", "store/*", "migrations/*"],
}

SQL = re.compile(
    r"""\bSELECT\s[\s\S]*?\bFROM\b
      | \bSELECT\s+(?:\d|\w+\()                             # SELECT 1, SELECT changes()
      | \bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b
      | \bREPLACE\s+INTO\b
      | \bUPDATE\s+\w+\s+SET\b
      | \bDELETE\s+FROM\b
      | \b(?:CREATE|DROP)\s+(?:UNIQUE\s+)?(?:TEMP\s+)?(?:TABLE|INDEX|VIEW|TRIGGER)\b
      | \bALTER\s+TABLE\b
      | \bPRAGMA\s+\w+
      | ^\s*(?:BEGIN(?:\s+(?:DEFERRED|IMMEDIATE|EXCLUSIVE))?(?:\s+TRANSACTION)?
              | COMMIT | END | ROLLBACK(?:\s+TO\s+\w+)? | SAVEPOINT\s+\w+ | RELEASE(?:\s+SAVEPOINT)?\s+\w+
              | VACUUM | ANALYZE)\s*;?\s*$""",
    re.VERBOSE,
)


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the Constant nodes that are docstrings (of the module, a class or a function)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.add(id(first.value))
    return found


def _strings(tree: ast.AST):
    """(line, text) of every string literal that is not a docstring; an f-string as one text."""
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else "x" for v in node.values]
            skip.update(id(v) for v in node.values)
            yield node.lineno, "".join(str(p) for p in parts)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def sql_in(source: str) -> list[tuple[int, str]]:
    """(line, the statement's start) of every SQL statement in a module's string literals."""
    return [(line, text[match.start():][:60]) for line, text in _strings(ast.parse(source))
            if (match := SQL.search(text))]


def sql_outside_the_stores() -> list[str]:
    found = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            inside = path.relative_to(ROOT / package).as_posix()
            if any(fnmatch.fnmatch(inside, pattern) for pattern in allowed):
                continue
            for line, text in sql_in(path.read_text(encoding="utf-8")):
                found.append(f"{package}/{inside}:{line}: {text!r}")
    return found


def test_no_sql_outside_each_apps_store():
    found = sql_outside_the_stores()
    assert not found, "SQL outside the app's store (DESIGN.md: it belongs there):\n" + "\n".join(found)


def test_the_check_finds_statements_in_code_and_not_in_docstrings():
    source = '''
"""Module docstring: SELECT name FROM incidents, and every write ends in a COMMIT."""
QUERY = "SELECT 1 FROM incidents"


class Repo:
    """DELETE FROM alerts is what clear() does."""

    def clear(self, table):
        """UPDATE alerts SET status = 'x'."""
        run(f"UPDATE {table} SET status = ?", ("resolved",))
        run("INSERT OR IGNORE INTO alerts (id) VALUES (?)")
        run("BEGIN IMMEDIATE")
        run("PRAGMA user_version")
        return "Select a server from the list, then commit to it"
'''
    assert [line for line, _ in sql_in(source)] == [3, 11, 12, 13, 14]


def test_the_stores_hold_sql_so_the_check_has_something_to_find():
    """Guards the check itself: were the regular expression broken, it would find nothing anywhere."""
    for package, allowed in ALLOWED.items():
        stores = [path for path in (ROOT / package).rglob("*.py")
                  if any(fnmatch.fnmatch(path.relative_to(ROOT / package).as_posix(), p) for p in allowed)]
        assert any(sql_in(path.read_text(encoding="utf-8")) for path in stores), package
