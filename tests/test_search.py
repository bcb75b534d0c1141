"""The search index."""

from __future__ import annotations

from codemode import Tool
from codemode.search import SearchIndex, tokenize


def test_tokenize_splits_and_stems() -> None:
    assert tokenize("listFilesForRepo") == ["list", "file", "repo"]
    assert tokenize("create_issue_comments") == ["create", "issue", "comment"]
    assert tokenize("the HTTPServer") == ["http", "server"]


def test_ranking_prefers_name_matches() -> None:
    tools = [
        Tool(namespace="gh", name="issues_create", description="Create an issue."),
        Tool(namespace="gh", name="issues_list", description="List issues in a repository."),
        Tool(namespace="gh", name="repos_get", description="Get a repository, not an issue."),
    ]
    index = SearchIndex(tools, lambda t: f"def {t.identifier}()")
    hits = index.search("create a new issue")
    assert [h.qualified for h in hits][:1] == ["gh.issues_create"]
    assert hits[0].signature == "def issues_create()"
    assert index.search("nothing matches zzz") == []
    assert len(index.search("issue", limit=2)) == 2
