"""Finding tools by what they do.

One search has to find the right operation among thousands, from a task phrased in the
model's or the user's words ("refund the last charge", "who starred my repo").

The index is BM25F over an inverted index. Every tool is split into fields that say more
or less about it: its name, summary, endpoint path and HTTP verb, tags, parameter names,
description, and the names and values its input schema spells out. Each field's term
frequencies are length-normalised and weighted, and their sum is saturated once per
term, so a word repeated across fields does not count without bound. Each term's
contribution to each tool is computed when the index is built; a search only walks the
postings of its own terms.

A search then goes through two stages:

1. Matching. The query is split into word slots, each widened with related API
   vocabulary at a discount (`_search_text.expand`); a tool scores a slot by its best
   term and a tool term counts once across slots. The sum is scaled by the share of the
   query's words the tool covers, a bonus for query word pairs found side by side in the
   tool's name, summary or schema values, a prior against deprecated tools, a strong
   boost for a namespace the query names ("... on github") and a mild one for the
   namespace whose vocabulary the query uses ("invoice" is Stripe's word).
2. Re-ranking the best candidates by how much of each one's name and summary the query
   explains, so `pulls_list` beats `list_pull_requests_associated_with_commit` for
   "list pull requests".

`CodeMode.search`, the in-sandbox `search()` and the CLI share one index, rebuilt lazily
when the catalog changes.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import math
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from codemode._search_text import expand, intents, terms
from codemode.catalog import Tool

__all__ = ["SearchHit", "SearchIndex", "tokenize"]


def tokenize(text: str) -> list[str]:
    """Index terms of `text`: camelCase, snake_case and kebab-case split, markup and stop
    words dropped, abbreviations spelled out, words stemmed (`listRepos` -> `list`,
    `repositori`)."""
    return terms(text)


# Field -> (weight, length normalisation b). The name and summary are written to say
# what the tool does; the description says much else besides; parameter names and
# schema values say what it acts on, but there are many of them.
_FIELDS: dict[str, tuple[float, float]] = {
    "name": (3.0, 0.5),
    "summary": (2.0, 0.5),
    "path": (1.2, 0.3),
    "verb": (1.0, 0.0),
    "tags": (1.0, 0.3),
    "params": (0.6, 0.5),
    "description": (0.6, 0.75),
    "schema": (0.25, 0.5),
}
_K1 = 1.2
_DESCRIPTION_CHARS = 1500  # the opening of a long description says what matters
_SCHEMA_WORDS = 300  # enough for fifty settings' names, bounded for huge bodies
_SCHEMA_VALUE_CHARS = 60  # longer strings in a schema are prose, not names
# First stage
_COVERAGE = 1.0  # exponent of the share of the query's words a tool covers
_PHRASE_BONUS = 1.0  # per query word pair found side by side, times the pair's idf
_DEPRECATED = 0.7  # score factor for deprecated tools
_NAMESPACE_BOOST = 4.0  # score factor for the tools of a namespace the query names
_AFFINITY = 0.3  # exponent of the namespace-vocabulary factor (0 turns it off)
_AFFINITY_MIX = 0.5  # share of a uniform prior in that factor's namespace posterior
# Second stage
_RERANK = 50  # candidates re-ranked
_NAME_FIT = 1.0  # weight of the share of a tool's name the query explains
_SUMMARY_FIT = 1.0  # weight of the share of its summary the query explains

_NO_MATCH = (0.0, "")


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


def _schema_values(schema: Mapping[str, Any], limit: int) -> list[str]:
    """Names and values a schema spells out (nested property names, string enum values,
    titles), breadth-first through `properties`, `items`, unions and local `$ref`s, each
    once, until they hold about `limit` words.

    A body such as Cloudflare's "edit zone setting" is a union of fifty settings whose
    names (`always_use_https`, `min_tls_version`) exist nowhere else in the tool.
    """
    defs = schema.get("$defs")
    defs = defs if isinstance(defs, Mapping) else {}
    out: list[str] = []
    taken: set[str] = set()
    budget = limit
    seen: set[int] = set()
    props = schema.get("properties")
    queue: deque[Any] = deque(props.values() if isinstance(props, Mapping) else ())

    def add(text: object) -> None:
        nonlocal budget
        if (
            isinstance(text, str)
            and len(text) <= _SCHEMA_VALUE_CHARS
            and budget > 0
            and text not in taken
        ):
            taken.add(text)
            out.append(text)
            budget -= text.count("_") + text.count("-") + 1

    while queue and budget > 0:
        node = queue.popleft()
        if not isinstance(node, Mapping) or id(node) in seen:
            continue
        seen.add(id(node))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            queue.append(defs.get(ref[len("#/$defs/") :]))
            continue
        for value in node.get("enum") or ():
            add(value)
        add(node.get("title"))
        add(node.get("const"))
        props = node.get("properties")
        if isinstance(props, Mapping):
            for name in props:
                add(name)
            queue.extend(props.values())
        for key in ("items", "additionalProperties"):
            queue.append(node.get(key))
        for key in ("oneOf", "anyOf", "allOf"):
            branches = node.get(key)
            if isinstance(branches, list):
                queue.extend(branches)
    return out


@functools.lru_cache(maxsize=32768)
def _short_terms(text: str) -> tuple[str, ...]:
    """`terms` of a name or enum value; they repeat across an API's tools."""
    return tuple(terms(text))


def _fields(tool: Tool) -> tuple[dict[str, list[str]], set[tuple[str, str]]]:
    """The tool's text split into the index's fields (as index terms), and the adjacent
    term pairs of its name, summary and schema values (for phrase matches)."""
    summary = tool.summary
    rest = tool.description.strip().partition("\n\n")[2]
    name = terms(tool.identifier)
    name += [t for t in terms(tool.name) if t not in name]
    method, _, path = (tool.endpoint or "").partition(" ")
    literal = " ".join(seg for seg in path.split("/") if seg and not seg.startswith("{"))
    values = [_short_terms(v) for v in _schema_values(tool.input_schema, _SCHEMA_WORDS)]
    fields = {
        "name": name,
        "summary": terms(summary),
        "path": terms(literal),
        "verb": terms(" ".join(intents(method, path))) if path else [],
        "tags": terms(" ".join(tool.tags)),
        "params": [t for p in tool.parameters for t in _short_terms(p)],
        "description": terms(rest[:_DESCRIPTION_CHARS]),
        "schema": [t for value in values for t in value],
    }
    pairs = {*_bigrams(name), *_bigrams(fields["summary"])}
    for value in values:
        pairs.update(_bigrams(value))
    return fields, pairs


def _bigrams(tokens: Iterable[str]) -> Iterable[tuple[str, str]]:
    return itertools.pairwise(tokens)


class SearchIndex:
    """A BM25F inverted index over a fixed list of tools."""

    def __init__(self, tools: Sequence[Tool], signature: Callable[[Tool], str]) -> None:
        """Index `tools`; `signature` renders a tool's one-line signature for its hits."""
        self._tools = list(tools)
        self._signature = signature
        self._signatures: dict[int, str] = {}
        split = [_fields(tool) for tool in self._tools]
        docs = [fields for fields, _ in split]
        n = len(docs)
        avg = {f: (sum(len(d[f]) for d in docs) / n if n else 0.0) or 1.0 for f in _FIELDS}
        # term -> tool -> field-weighted, length-normalised term frequency
        weighted: dict[str, dict[int, float]] = {}
        self._phrases: dict[tuple[str, str], list[int]] = {}
        for i, (doc, pairs) in enumerate(split):
            for field, tokens in doc.items():
                if not tokens:
                    continue
                weight, b = _FIELDS[field]
                norm = weight / (1 - b + b * len(tokens) / avg[field])
                for term, tf in Counter(tokens).items():
                    postings = weighted.setdefault(term, {})
                    postings[i] = postings.get(i, 0.0) + tf * norm
            for pair in pairs:
                self._phrases.setdefault(pair, []).append(i)
        self._idf = {
            term: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for term, p in weighted.items()
        }
        # term -> tool -> the term's saturated, idf-weighted score in that tool
        self._postings = {
            term: {i: idf * tf * (_K1 + 1) / (tf + _K1) for i, tf in weighted[term].items()}
            for term, idf in self._idf.items()
        }
        self._names = [frozenset(doc["name"] + doc["verb"]) for doc in docs]
        self._summaries = [frozenset(doc["summary"]) for doc in docs]
        self._prior = [_DEPRECATED if tool.deprecated else 1.0 for tool in self._tools]
        self._ns_of = [tool.namespace for tool in self._tools]
        self._namespaces: dict[str, set[int]] = {}  # namespace as a query term -> tools
        for i, tool in enumerate(self._tools):
            for term in terms(tool.namespace)[:1]:
                self._namespaces.setdefault(term, set()).add(i)
        # Which namespace's tools use a query's words is evidence of which API the query
        # is about: per term, how many tools of each namespace contain it.
        self._ns_sizes = dict(Counter(self._ns_of))
        self._ns_df = {
            term: dict(Counter(self._ns_of[i] for i in postings))
            for term, postings in weighted.items()
        }

    def __len__(self) -> int:
        return len(self._tools)

    def search(self, query: str, limit: int = 8) -> list[SearchHit]:
        """The best `limit` tools for `query`, best first; tools matching no query word
        are left out."""
        if limit <= 0:
            return []
        named: set[int] = set()
        slots = []
        for slot in expand(query):
            own = next(iter(slot))  # the word the query used; related terms follow
            if own in self._namespaces and len(self._namespaces) > 1:
                named |= self._namespaces[own]
            elif any(term in self._postings for term in slot):
                slots.append(slot)
        if not slots:
            return []
        candidates = self._match(slots, named)
        return [self._hit(i, score) for score, i in self._rerank(slots, candidates, limit)]

    def _match(self, slots: list[dict[str, float]], named: set[int]) -> list[tuple[float, int]]:
        """First stage: the best `_RERANK` tools by BM25F over the query's slots, scaled
        by coverage, phrase matches, deprecation and namespace evidence."""
        slot_idf = [max(self._idf.get(t, 0.0) * w for t, w in s.items()) for s in slots]
        total_idf = sum(slot_idf) or 1.0
        scores: dict[int, float] = {}
        covered: dict[int, float] = {}
        # A tool's term counts once even when it answers several slots through related
        # words ("open a new ..." both reach `create`): (tool, term) -> best value.
        used: dict[tuple[int, str], float] = {}
        for slot, idf in zip(slots, slot_idf, strict=True):
            best: dict[int, tuple[float, str]] = {}
            # A related word stands in for the word the query used: it counts as rare as
            # that word (at its discount), not as rare as it happens to be itself, so a
            # synonym that is everywhere in one API (`zone`) is not drowned by a literal
            # match on a rare word, nor does a rare synonym outweigh the query's own word.
            own_idf = self._idf.get(next(iter(slot)))
            for term, weight in slot.items():
                if own_idf and term in self._idf:
                    weight *= own_idf / self._idf[term]
                for i, value in self._postings.get(term, {}).items():
                    value *= weight
                    if value > best.get(i, _NO_MATCH)[0]:
                        best[i] = (value, term)
            for i, (value, term) in best.items():
                before = used.get((i, term), 0.0)
                if value > before:
                    used[(i, term)] = value
                    scores[i] = scores.get(i, 0.0) + value - before
                covered[i] = covered.get(i, 0.0) + idf
        for a, b in _bigrams(next(iter(s)) for s in slots):
            bonus = _PHRASE_BONUS * (self._idf.get(a, 0.0) + self._idf.get(b, 0.0)) / 2
            for i in self._phrases.get((a, b), ()):
                if i in scores:
                    scores[i] += bonus
        affinity = self._affinity([next(iter(s)) for s in slots])
        return heapq.nlargest(
            _RERANK,
            (
                (
                    score
                    * (covered[i] / total_idf) ** _COVERAGE
                    * self._prior[i]
                    * (_NAMESPACE_BOOST if i in named else 1.0)
                    * affinity.get(self._ns_of[i], 1.0),
                    i,
                )
                for i, score in scores.items()
            ),
            key=lambda pair: (pair[0], -pair[1]),
        )

    def _rerank(
        self, slots: list[dict[str, float]], candidates: list[tuple[float, int]], limit: int
    ) -> list[tuple[float, int]]:
        """Second stage: favour candidates whose name and summary the query explains."""
        asked: dict[str, float] = {}
        for slot in slots:
            for term, weight in slot.items():
                asked[term] = max(asked.get(term, 0.0), weight)

        def explained(words: frozenset[str]) -> float:
            return sum(asked.get(t, 0.0) for t in words) / len(words) if words else 0.0

        rescored = [
            (
                score
                * (
                    1
                    + _NAME_FIT * explained(self._names[i])
                    + _SUMMARY_FIT * explained(self._summaries[i])
                ),
                i,
            )
            for score, i in candidates
        ]
        rescored.sort(key=lambda pair: (-pair[0], pair[1]))
        return rescored[: max(limit, 0)]

    def _affinity(self, asked: Sequence[str]) -> dict[str, float]:
        """Score factor per namespace: how much likelier the query's words are among that
        namespace's tools than the others' (naive Bayes over document frequencies),
        damped so that it breaks near-ties rather than overrides matches."""
        if len(self._ns_sizes) < 2:
            return {}
        logs = dict.fromkeys(self._ns_sizes, 0.0)
        for term in asked:
            df = self._ns_df.get(term)
            if df:
                for ns, size in self._ns_sizes.items():
                    logs[ns] += math.log((df.get(ns, 0) + 0.5) / (size + 1))
        top = max(logs.values())
        weights = {ns: math.exp(v - top) for ns, v in logs.items()}
        total, k = sum(weights.values()), len(weights)
        # Mixed with a uniform prior: naive Bayes is overconfident, and one telling word
        # must not bury another namespace's exact match.
        return {
            ns: (k * ((1 - _AFFINITY_MIX) * w / total + _AFFINITY_MIX / k)) ** _AFFINITY
            for ns, w in weights.items()
        }

    def _hit(self, i: int, score: float) -> SearchHit:
        tool = self._tools[i]
        # Rendering a signature can cost more than the search (a body schema with many
        # nested definitions), and the same tools come up again and again: keep them.
        signature = self._signatures.get(i)
        if signature is None:
            signature = self._signatures[i] = self._signature(tool)
        return SearchHit(
            qualified=tool.qualified,
            original=tool.name,
            signature=signature,
            summary=tool.summary,
            score=score,
        )
