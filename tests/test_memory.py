"""The `memory` global: what programs remember, recall, list, forget and ingest."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from codemode import CodeMode, ExecutionResult
from codemode.store import open_store

Make = Callable[..., CodeMode]


@pytest.fixture
def cm(make: Make) -> CodeMode:
    return make(project="p", agent="a")


def ok(result: ExecutionResult) -> Any:
    assert result.ok, result.error
    return result.result


def error(result: ExecutionResult) -> tuple[str, str]:
    assert not result.ok
    assert result.error is not None
    return result.error.type, result.error.message


def test_remember_then_recall_by_meaning_of_words(cm: CodeMode) -> None:
    ids = ok(
        cm.execute(
            "a = memory.remember('The staging database listens on port 5433', tags=['infra'])\n"
            "b = memory.remember('Alice prefers green tea in the afternoon', tags=['people'])\n"
            "c = memory.remember('Deploys happen on Tuesdays after the standup')\n"
            "[a, b, c]"
        )
    )
    assert len(set(ids)) == 3
    assert all(isinstance(i, str) and i for i in ids)
    hits = ok(cm.execute("memory.recall('which port is the staging database on?')"))
    assert hits[0]["id"] == ids[0]
    assert hits[0]["text"] == "The staging database listens on port 5433"
    assert hits[0]["tags"] == ["infra"]
    assert isinstance(hits[0]["score"], float)
    assert ids[1] not in [h["id"] for h in hits]  # shares no meaningful word
    tea = ok(cm.execute("memory.recall('what does Alice drink', k=1)"))
    assert [h["id"] for h in tea] == [ids[1]]
    # stems match: "deploying" finds "Deploys"
    assert ok(cm.execute("memory.recall('deploying', k=3)"))[0]["id"] == ids[2]
    assert ok(cm.execute("memory.recall('zebra xylophone')")) == []


def test_memories_persist_across_programs_and_instances(make: Make) -> None:
    first = make(project="p", agent="a")
    memory_id = ok(first.execute("memory.remember('the answer is 42')"))
    first.close()
    second = make(project="p", agent="a")
    assert [h["id"] for h in ok(second.execute("memory.recall('answer')"))] == [memory_id]
    # and the store holds it under the default profile, project/agent
    store = open_store(second.store.url)
    try:
        assert [m.text for m in store.list_memories("p/a")] == ["the answer is 42"]
    finally:
        store.close()


def test_list_filters_by_tag_and_limits_newest_first(cm: CodeMode) -> None:
    ok(
        cm.execute(
            "for i in range(5):\n"
            "    memory.remember(f'note {i}', tags=['even' if i % 2 == 0 else 'odd', 'all'])"
        )
    )
    everything = ok(cm.execute("memory.list()"))
    assert [m["text"] for m in everything] == [f"note {i}" for i in (4, 3, 2, 1, 0)]
    assert set(everything[0]) == {"id", "text", "tags", "created"}
    assert everything[0]["tags"] == ["even", "all"]
    assert [m["text"] for m in ok(cm.execute("memory.list(tag='odd')"))] == ["note 3", "note 1"]
    assert [m["text"] for m in ok(cm.execute("memory.list(tag='all', limit=2)"))] == [
        "note 4",
        "note 3",
    ]
    assert ok(cm.execute("memory.list(tag='missing')")) == []


def test_forget_removes_a_memory(cm: CodeMode) -> None:
    ok(cm.execute("memory.remember('keep me', tags=['x'])\nmemory.remember('drop me', tags=['x'])"))
    result = ok(
        cm.execute(
            "target = memory.recall('drop')[0]\n"
            "[memory.forget(target['id']), memory.forget(target['id'])]"
        )
    )
    assert result == [True, False]
    assert [m["text"] for m in ok(cm.execute("memory.list(tag='x')"))] == ["keep me"]
    assert ok(cm.execute("memory.recall('drop')")) == []
    # a recall/list entry works as well as its id
    assert ok(cm.execute("memory.forget(memory.list()[0])")) is True
    assert ok(cm.execute("memory.list()")) == []
    assert ok(cm.execute("memory.forget('m_doesnotexist')")) is False


PARAGRAPHS = {
    "volcano": "Volcanoes form where magma rises through the crust. "
    + "Basaltic lava flows far before it cools into dark rock. " * 11,
    "penguin": "Emperor penguins breed during the Antarctic winter. "
    + "The colony huddles together against blizzards and wind. " * 11,
    "database": "Write-ahead logging keeps a database durable. "
    + "Every commit reaches the log before the pages change. " * 11,
    "orchard": "Apple orchards need pollinators in spring. "
    + "Bees carry pollen between blossoms of different trees. " * 11,
}


def test_ingest_chunks_a_long_text_and_recall_finds_the_right_chunk(cm: CodeMode) -> None:
    text = "\n\n".join(PARAGRAPHS.values())
    assert len(text) > 2500
    ids = ok(cm.execute(f"memory.ingest({text!r}, tags=['doc'])"))
    assert len(ids) == len(PARAGRAPHS)
    assert len(set(ids)) == len(ids)
    listed = ok(cm.execute("memory.list(tag='doc')"))
    assert sorted(m["id"] for m in listed) == sorted(ids)
    assert sorted(m["text"] for m in listed) == sorted(p.strip() for p in PARAGRAPHS.values())
    assert all(len(m["text"]) <= 1200 for m in listed)
    for query, key in [
        ("antarctic blizzards", "penguin"),
        ("basaltic lava", "volcano"),
        ("commit log", "database"),
        ("bees pollen", "orchard"),
    ]:
        hits = ok(cm.execute(f"memory.recall({query!r}, k=1)"))
        assert len(hits) == 1
        assert hits[0]["text"] == PARAGRAPHS[key].strip(), query
        assert hits[0]["id"] in ids
        assert hits[0]["tags"] == ["doc"]


def test_ingest_splits_a_single_huge_paragraph(cm: CodeMode) -> None:
    sentences = " ".join(f"Sentence number {i} talks about topic{i}." for i in range(300))
    ids = ok(cm.execute(f"memory.ingest({sentences!r})"))
    assert len(ids) > 5
    hits = ok(cm.execute("memory.recall('topic250', k=1)"))
    assert "topic250." in hits[0]["text"]


def test_same_memory_profile_shares_different_profiles_do_not(make: Make) -> None:
    alice = make(project="p", agent="alice", memory_profile="team")
    bob = make(project="p", agent="bob", memory_profile="team")
    carol = make(project="p", agent="carol")
    dave = make(project="p", agent="dave", memory_profile="other-team")
    memory_id = ok(alice.execute("memory.remember('the release is on friday', tags=['plan'])"))
    assert [h["id"] for h in ok(bob.execute("memory.recall('release')"))] == [memory_id]
    assert [m["id"] for m in ok(bob.execute("memory.list(tag='plan')"))] == [memory_id]
    for outsider in (carol, dave):
        assert ok(outsider.execute("memory.recall('release')")) == []
        assert ok(outsider.execute("memory.list()")) == []
        assert ok(outsider.execute(f"memory.forget({memory_id!r})")) is False
    assert ok(bob.execute(f"memory.forget({memory_id!r})")) is True
    assert ok(alice.execute("memory.list()")) == []
    # the default profile is project/agent: the same agent in another CodeMode shares it
    ok(carol.execute("memory.remember('carol was here')"))
    carol_again = make(project="p", agent="carol")
    assert [m["text"] for m in ok(carol_again.execute("memory.list()"))] == ["carol was here"]


@pytest.mark.parametrize(
    ("code", "kind", "fragment"),
    [
        ("memory.remember(3)", "TypeError", "memory.remember(): text must be a string"),
        ("memory.remember(None)", "TypeError", "memory.remember(): text must be a string"),
        ("memory.remember('   ')", "ValueError", "memory.remember(): text is empty"),
        ("memory.remember('x' * 20001)", "ValueError", "use memory.ingest"),
        ("memory.remember('x', tags=[1])", "TypeError", "tags must be a list of strings"),
        ("memory.remember('x', tags={'a': 1})", "TypeError", "tags must be a list of strings"),
        ("memory.remember('x', tags=[''])", "ValueError", "at most 20 tags of 1-64"),
        ("memory.remember('x', tags=['t'] * 21)", "ValueError", "at most 20 tags"),
        ("memory.remember('x', tags=['t' * 65])", "ValueError", "1-64 characters"),
        ("memory.ingest(['a'])", "TypeError", "memory.ingest(): text must be a string"),
        ("memory.ingest('a', tags=5)", "TypeError", "memory.ingest(): tags must be"),
        ("memory.recall(5)", "TypeError", "memory.recall(): query must be a string"),
        ("memory.recall('x', k=0)", "ValueError", "k must be an integer from 1 to 100"),
        ("memory.recall('x', k=101)", "ValueError", "k must be an integer from 1 to 100"),
        ("memory.recall('x', k=-1)", "ValueError", "k must be an integer from 1 to 100"),
        ("memory.recall('x', k=2.5)", "ValueError", "k must be an integer from 1 to 100"),
        ("memory.recall('x', k=True)", "ValueError", "k must be an integer from 1 to 100"),
        ("memory.list(tag=3)", "TypeError", "memory.list(): tag must be a string"),
        ("memory.list(limit='2')", "TypeError", "memory.list(): limit must be an integer"),
        ("memory.forget(3)", "TypeError", "memory.forget(): pass a memory id"),
    ],
)
def test_argument_errors_are_clear_errors_in_the_program(
    cm: CodeMode, code: str, kind: str, fragment: str
) -> None:
    result = cm.execute(f"print('before')\n{code}\nprint('after')")
    got_kind, message = error(result)
    assert got_kind == kind
    assert fragment in message
    assert result.error is not None
    assert result.error.line == 2
    assert result.stdout == "before\n"
    assert ok(cm.execute("memory.list()")) == []  # nothing was remembered


def test_argument_errors_can_be_caught_by_the_program(cm: CodeMode) -> None:
    code = (
        "try:\n"
        "    memory.recall('x', k=0)\n"
        "except ValueError as exc:\n"
        "    caught = str(exc)\n"
        "caught"
    )
    assert "k must be an integer" in ok(cm.execute(code))


def test_tags_are_deduplicated_and_a_single_string_is_one_tag(cm: CodeMode) -> None:
    ok(cm.execute("memory.remember('a', tags=['x', 'y', 'x'])\nmemory.remember('b', tags='solo')"))
    assert [m["tags"] for m in ok(cm.execute("memory.list()"))] == [["solo"], ["x", "y"]]


@pytest.mark.parametrize("limit", [-1, -3])
def test_a_negative_list_limit_is_a_clear_error(cm: CodeMode, limit: int) -> None:
    ok(cm.execute("for i in range(5):\n    memory.remember(f'note {i}')"))
    kind, message = error(cm.execute(f"memory.list(limit={limit})"))
    assert kind == "ValueError"
    assert "limit" in message
