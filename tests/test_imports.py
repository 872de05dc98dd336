"""The import rule of mcpnb/__init__.py, checked on the source: no circle, and no
module imports from a layer above its own except in the few lazy places named there."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "mcpnb"

# The layers, from the ground up, as mcpnb/__init__.py states them.
LAYERS = [
    {"errors", "version", "runtime", "masking", "process", "schema", "fields", "line", "config", "listings",
     "results", "frames", "render", "streams", "excerpt", "trace", "traceframe", "events", "tokens", "tokenizer", "preview",
     "snapshot", "schemadiff", "export", "llm", "similarity", "checkpoint"},
    {"targets", "unreadable", "connection", "workerspec"},
    {"handlers", "progress", "login", "auth"},
    {"options"},
    {"catalog", "subscriptions", "session", "apps", "fanout"},
    {"registry", "server", "serving", "lint", "chat", "evals", "dask", "daskworker"},
    {"magics", "widgets"},
    {"__init__", "__main__"},
]
# Upward imports allowed, each inside one function: (module, function, imported module).
LAZY_UPWARD = {
    ("server", "explore", "widgets"),
    ("server", "app", "widgets"),
    ("traceframe", "view", "widgets"),
    ("handlers", "asker", "widgets"),
    ("progress", "_make", "widgets"),
    ("login", "_make_view", "widgets"),
    ("preview", "_other_servers", "registry"),
    ("chat", "_ask_in_widget", "widgets"),
}


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    for number, names in enumerate(LAYERS):
        if top in names:
            return number
    raise AssertionError(f"mcpnb.{module} is in no layer: add it to mcpnb/__init__.py's rule and LAYERS here")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 1 else parts)


def imports(path: Path) -> list[tuple[str, str | None]]:
    """(imported mcpnb module, enclosing function or None) for each import in the file,
    leaving out ``if TYPE_CHECKING:`` blocks."""
    name = module_name(path)
    package = name.rsplit(".", 1)[0] if path.name != "__init__.py" else name
    if path.parent == PACKAGE:
        package = ""
    found: list[tuple[str, str | None]] = []

    def resolve(node: ast.ImportFrom | ast.Import) -> list[str]:
        if isinstance(node, ast.Import):
            return [a.name.removeprefix("mcpnb.") for a in node.names if a.name.startswith("mcpnb.")]
        if node.level == 0:
            if node.module and node.module.startswith("mcpnb"):
                base = node.module.removeprefix("mcpnb").lstrip(".")
                return [base] if base else [a.name for a in node.names]
            return []
        parts = package.split(".") if package else []
        parts = parts[: len(parts) - (node.level - 1)] if node.level > 1 else parts
        base = ".".join([*parts, *(node.module.split(".") if node.module else [])])
        return [base] if node.module else [f"{base}.{a.name}".lstrip(".") for a in node.names]

    def walk(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                for other in child.orelse:
                    walk(other, function)
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.extend((target, function) for target in resolve(child))
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            walk(child, inner)

    walk(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


def core_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "demo" not in p.relative_to(PACKAGE).parts]


def test_no_module_imports_upward_except_the_named_lazy_places():
    wrong = []
    for path in core_modules():
        name = module_name(path)
        for target, function in imports(path):
            if target.split(".")[0] in ("demo", "__main__"):
                continue
            if layer_of(target) > layer_of(name) and (name.split(".")[0], function, target.split(".")[0]) \
                    not in LAZY_UPWARD:
                wrong.append(f"mcpnb.{name} ({function or 'module level'}) imports mcpnb.{target}")
    assert not wrong, "imports against the rule in mcpnb/__init__.py:\n" + "\n".join(wrong)


def test_the_allowed_lazy_places_exist():
    """Each allowed upward import is still where the rule says (a stale allowance would hide a new one)."""
    seen = {(module_name(p).split(".")[0], f, t.split(".")[0]) for p in core_modules() for t, f in imports(p)}
    assert LAZY_UPWARD <= seen


def test_no_import_circle_at_module_level():
    graph: dict[str, set[str]] = {}
    for path in core_modules():
        name = module_name(path)
        graph[name] = {t for t, function in imports(path) if function is None and t != name
                       and t.split(".")[0] not in ("demo",)}
    names = set(graph)

    def known(target: str) -> str | None:
        while target and target not in names:
            target = target.rpartition(".")[0]
        return target or None

    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for target in sorted(filter(None, (known(t) for t in graph[node]))):
            if target == node:
                continue
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target]
                pytest.fail("import circle: " + " -> ".join(f"mcpnb.{m}" for m in cycle))
            if state.get(target) is None:
                visit(target)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node != "__init__" and state.get(node) is None:
            visit(node)


@pytest.mark.parametrize("module", ["mcpnb", "mcpnb.session", "mcpnb.events", "mcpnb.options"])
def test_the_core_imports_without_ipython_widgets(module):
    """A script that imports the library does not load ipywidgets or the magics."""
    code = (f"import sys, {module}\n"
            "loaded = [m for m in ('ipywidgets', 'mcpnb.magics', 'mcpnb.widgets') if m in sys.modules]\n"
            "print(loaded)")
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_events_imports_nothing_from_the_package():
    assert [t for t, _ in imports(PACKAGE / "events.py")] == []


# What `import mcpnb` and `%load_ext mcpnb` must not load: a connection and its calls need none of it, and
# each costs a good part of `import mcp` or more (pandas with numpy and pyarrow, jsonschema with its format
# checkers' grammar, the SDK's PyJWT client credentials, the model providers, the widgets).
HEAVY = ("pandas", "numpy", "pyarrow", "jsonschema", "rfc3987_syntax", "jwt", "tiktoken", "sklearn", "anthropic",
         "openai", "dask", "distributed", "ipywidgets", "mcpnb.magics", "mcpnb.lint", "mcpnb.evals")


def loaded_after(code: str) -> list[str]:
    """The HEAVY modules a fresh interpreter has loaded after running ``code``."""
    check = f"{code}\nimport sys\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    shown = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True).stdout
    return ast.literal_eval(shown.strip().splitlines()[-1])


def test_import_mcpnb_loads_nothing_heavy():
    assert loaded_after("import mcpnb") == []


def test_load_ext_loads_only_the_magics():
    code = ("from IPython.core.interactiveshell import InteractiveShell\n"
            "shell = InteractiveShell.instance()\n"
            "shell.run_line_magic('load_ext', 'mcpnb')\n"
            "assert 'mcp' in shell.magics_manager.magics['line'] and 'mcp' in shell.magics_manager.magics['cell']\n"
            "import sys\nsys.modules.pop('mcpnb.magics')  # loaded, as it must be; the rest must not be")
    assert loaded_after(code) == []


def test_a_connection_and_a_call_need_no_pandas_until_a_table_is_asked_for():
    code = ("import mcpnb, sys\n"
            "server = mcpnb.connect('demo:helpdesk')\n"
            "result = server.call('get_order', order_id=42)\n"
            "assert 'pandas' not in sys.modules\n"
            "assert result.df.loc[0, 'id'] == 42 and type(server.trace).__name__ == 'TraceFrame'\n"
            "assert 'pandas' in sys.modules\n"
            "server.close()")
    assert "pandas" in loaded_after(code)


def test_the_names_loaded_on_first_use_are_there():
    """Every public name can be had, dir() lists them, and mcpnb.lint, .llm and .chat stay the functions
    even when their modules were imported first (importing a submodule binds its name on the package)."""
    code = ("import mcpnb, inspect\n"
            "from mcpnb.lint import Findings\nfrom mcpnb.chat import Toolbox\nimport mcpnb.llm\n"
            "assert all(inspect.isfunction(f) for f in (mcpnb.lint, mcpnb.llm, mcpnb.chat)), "
            "(mcpnb.lint, mcpnb.llm, mcpnb.chat)\n"
            "assert set(mcpnb.__all__) <= set(dir(mcpnb))\n"
            "assert all(getattr(mcpnb, name) is not None for name in mcpnb.__all__)\n"
            "from mcpnb import Snapshot, diff, serve, Preview, Export, evaluate\n"
            "assert mcpnb.Snapshot is Snapshot and Snapshot.__module__ == 'mcpnb.snapshot'")
    loaded_after(code)
    with pytest.raises(subprocess.CalledProcessError, match="exit status 1"):
        loaded_after("import mcpnb\nmcpnb.no_such_name")
