"""How alike two texts about tools read: TF-IDF over a tool's name and description, offline.

Two users: lint's X601 (two tools a model may confuse: ``pair_scores``) and the
evals' retrieval baseline (which tool a prompt reads most like: ``rank``). One
way of turning a tool into words serves both, so the baseline ranks by the
same text X601 calibrated on:

- a tool is its name as words (search_orders, searchOrders, orders.search ->
  "search orders") followed by its description (``tool_text``);
- lower case, plurals folded (orders -> order, entries -> entry), English stop
  words out;
- scikit-learn's TfidfVectorizer with sublinear term frequency; cosine
  similarity between the vectors.

``rank`` fits the vocabulary on the tools alone and places the prompt in it, so
a prompt's words that no tool uses count for nothing. scikit-learn is imported
inside the functions that use it: ``import mcpnb`` stays fast.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["name_words", "fold", "tool_text", "pair_scores", "similarities", "rank"]

_TOKEN = r"[a-z][a-z0-9]+"


class _Described(Protocol):
    name: str
    description: str | None


def name_words(name: str) -> str:
    """A tool name as words: search_orders, searchOrders, search-orders, orders.search -> search orders."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|[_\-./:\s]+", " ", name)
    return spaced.lower()


def fold(text: str) -> str:
    """Lower case, plurals folded (orders -> order, entries -> entry): one word for both forms."""
    words = re.findall(_TOKEN, text.lower())
    folded = [w[:-3] + "y" if w.endswith("ies") and len(w) > 4 else
              w[:-1] if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3 else w for w in words]
    return " ".join(folded)


def tool_text(tool: _Described) -> str:
    """The words a tool is scored by: its name as words and its description, folded."""
    return fold(f"{name_words(tool.name)} {tool.description or ''}")


def _stop_words() -> list[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(set(fold(" ".join(ENGLISH_STOP_WORDS)).split()))


def _vectorizer(documents: list[str], stop: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(stop_words=stop, sublinear_tf=True, token_pattern=_TOKEN).fit(documents)


def pair_scores(tools: Sequence[_Described]) -> list[tuple[float, str, str]]:
    """(similarity, first, second) for every pair of differently named tools, most alike first."""
    from sklearn.metrics.pairwise import cosine_similarity

    documents = [tool_text(tool) for tool in tools]
    stop = _stop_words()
    if len(tools) < 2 or not any(set(d.split()) - set(stop) for d in documents):
        return []
    vectorizer = _vectorizer(documents, stop)
    alike = cosine_similarity(vectorizer.transform(documents))
    pairs = [(float(alike[i, j]), tools[i].name, tools[j].name)
             for i in range(len(tools)) for j in range(i + 1, len(tools)) if tools[i].name != tools[j].name]
    return sorted(pairs, reverse=True)


def similarities(queries: Sequence[str], tools: Sequence[_Described]) -> list[list[float]]:
    """For each query, its similarity to each tool (in the tools' order): 0 when they share no scored word."""
    from sklearn.metrics.pairwise import cosine_similarity

    documents = [tool_text(tool) for tool in tools]
    stop = _stop_words()
    if not tools or not any(set(d.split()) - set(stop) for d in documents):
        return [[0.0] * len(tools) for _ in queries]
    if not queries:
        return []
    vectorizer = _vectorizer(documents, stop)
    scores = cosine_similarity(vectorizer.transform([fold(q) for q in queries]), vectorizer.transform(documents))
    return [[float(value) for value in row] for row in scores]


def rank(query: str, tools: Sequence[_Described]) -> list[tuple[str, float]]:
    """The tools as (name, similarity to ``query``), most alike first; ties keep the tools' order."""
    scores = similarities([query], tools)[0]
    order = sorted(range(len(tools)), key=lambda i: -scores[i])
    return [(tools[i].name, scores[i]) for i in order]
