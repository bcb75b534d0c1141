"""Finding tools by what they do.

A BM25 index over every tool of the catalog, with fields weighted by how much they say
about the tool: its identifier and namespace most, then the summary, then the
description and parameter names. `CodeMode.search`, the in-sandbox `search()` and the
CLI share one index, rebuilt lazily when the catalog changes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from codemode.catalog import Tool

__all__ = ["SearchHit", "SearchIndex", "tokenize"]

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_STOP = frozenset(
    {
        *("a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "i", "in", "is"),
        *("it", "of", "on", "or", "the", "this", "to", "with", "me", "my", "please", "all"),
        *("some", "get"),
    }
)
_FIELD_WEIGHTS = {"name": 3.0, "namespace": 1.5, "summary": 2.0, "description": 1.0, "params": 1.0}
_K1, _B = 1.2, 0.75


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens; camelCase and snake_case are split, stop words dropped."""
    tokens = []
    for word in _WORD.findall(text):
        low = word.lower()
        if low in _STOP:
            continue
        tokens.append(_stem(low))
    return tokens


def _stem(word: str) -> str:
    """A light stemmer: plurals and common verb endings (`files`->`file`, `listing`->`list`)."""
    for suffix, keep in (("ies", "y"), ("ing", ""), ("es", ""), ("s", ""), ("ed", "")):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            if suffix == "es" and not word.endswith(("ses", "xes", "zes", "ches", "shes")):
                continue
            return word[: -len(suffix)] + keep
    return word


@dataclass(frozen=True, kw_only=True)
class SearchHit:
    """One tool that matches a query."""

    qualified: str
    """`namespace.identifier`, what a program calls."""
    original: str
    """The tool's name at its source."""
    signature: str
    """The one-line Python signature."""
    summary: str
    """The first paragraph of the description."""
    score: float
    """Relevance; higher is better, comparable only within one search."""

    def to_dict(self) -> dict[str, object]:
        """JSON-safe dict."""
        return {
            "qualified": self.qualified,
            "original": self.original,
            "signature": self.signature,
            "summary": self.summary,
            "score": round(self.score, 4),
        }


class SearchIndex:
    """A field-weighted BM25 index over a fixed list of tools."""

    def __init__(self, tools: Sequence[Tool], signature: Callable[[Tool], str]) -> None:
        self._tools = list(tools)
        self._signature = signature
        self._docs: list[dict[str, Counter[str]]] = []
        self._lengths: dict[str, list[int]] = {f: [] for f in _FIELD_WEIGHTS}
        df: Counter[str] = Counter()
        for tool in self._tools:
            fields = {
                "name": Counter(tokenize(tool.identifier + " " + tool.name)),
                "namespace": Counter(tokenize(tool.namespace)),
                "summary": Counter(tokenize(tool.summary)),
                "description": Counter(tokenize(tool.description[:2000])),
                "params": Counter(tokenize(" ".join(tool.parameters) + " " + " ".join(tool.tags))),
            }
            self._docs.append(fields)
            for name, counts in fields.items():
                self._lengths[name].append(sum(counts.values()))
            df.update(set().union(*(set(c) for c in fields.values())))
        n = max(len(self._tools), 1)
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._avg = {f: (sum(v) / len(v) if v else 0.0) or 1.0 for f, v in self._lengths.items()}

    def __len__(self) -> int:
        return len(self._tools)

    def search(self, query: str, limit: int = 8) -> list[SearchHit]:
        """The best `limit` tools for `query`, best first; tools scoring zero are left out."""
        terms = [t for t in dict.fromkeys(tokenize(query)) if t in self._idf]
        if not terms or limit <= 0:
            return []
        scored: list[tuple[float, int]] = []
        for i, fields in enumerate(self._docs):
            score = 0.0
            for term in terms:
                for name, weight in _FIELD_WEIGHTS.items():
                    tf = fields[name].get(term)
                    if not tf:
                        continue
                    norm = 1 - _B + _B * self._lengths[name][i] / self._avg[name]
                    score += weight * self._idf[term] * tf * (_K1 + 1) / (tf + _K1 * norm)
            if score > 0:
                scored.append((score, i))
        scored.sort(key=lambda pair: (-pair[0], self._tools[pair[1]].qualified))
        return [self._hit(self._tools[i], score) for score, i in scored[:limit]]

    def _hit(self, tool: Tool, score: float) -> SearchHit:
        return SearchHit(
            qualified=tool.qualified,
            original=tool.name,
            signature=self._signature(tool),
            summary=tool.summary,
            score=score,
        )
