"""Artifact stores: `MemoryArtifacts` and `FileArtifacts`, their policy, ids and sizes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codemode.artifacts import (
    ArtifactInfo,
    ArtifactPolicy,
    ArtifactStore,
    FileArtifacts,
    MemoryArtifacts,
    describe,
    estimate_size,
    new_artifact_id,
    valid_id,
)
from codemode.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

StoreFactory = Callable[[ArtifactPolicy | None], ArtifactStore]


def encode(value: Any) -> bytes:
    """The encoding the host stores (`codemode.sandbox.host`)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False).encode()


def json_size(value: Any) -> int:
    return len(encode(value))


def put(store: ArtifactStore, value: Any, **fields: Any) -> ArtifactInfo:
    data = encode(value)
    info = describe(value, data, ttl=store.policy.ttl, **fields)
    store.put(info, data)
    return info


def put_at(store: ArtifactStore, value: Any, created: float) -> ArtifactInfo:
    """Store `value` with an explicit creation time (deterministic eviction order)."""
    data = encode(value)
    info = ArtifactInfo(
        id=new_artifact_id(),
        bytes=len(data),
        kind=type(value).__name__,
        length=len(value) if isinstance(value, str | list | dict) else None,
        created=created,
        expires=created + 3600,
    )
    store.put(info, data)
    return info


@pytest.fixture(params=["memory", "file"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreFactory:
    """A factory of empty stores of one kind (each call: a new store)."""
    count = 0

    def make(policy: ArtifactPolicy | None = None) -> ArtifactStore:
        nonlocal count
        if request.param == "memory":
            return MemoryArtifacts(policy)
        count += 1
        return FileArtifacts(tmp_path / f"a{count}", policy)

    return make


@pytest.fixture
def store(make_store: StoreFactory) -> ArtifactStore:
    return make_store(None)


# ------------------------------------------------------------------------------ ids, policy


def test_new_ids_are_valid_and_distinct() -> None:
    ids = {new_artifact_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(valid_id(i) for i in ids)


@pytest.mark.parametrize(
    "candidate",
    [
        None,
        42,
        b"art_0123456789abcdef0123",
        "",
        "art_",
        "art_0123456789abcdef012",  # one short
        "art_0123456789abcdef01234",  # one long
        "art_0123456789ABCDEF0123",  # upper case
        "art_0123456789abcdef012g",
        "xyz_0123456789abcdef0123",
        "../x",
        "art_/../../etc/passwd0000",
        "art_0123456789abcdef012/",
    ],
)
def test_valid_id_refuses_other_shapes(candidate: object) -> None:
    assert not valid_id(candidate)


@pytest.mark.parametrize("field", ["ttl", "max_bytes", "max_artifact_bytes"])
@pytest.mark.parametrize("bad", [0, -1, True, "10", None])
def test_policy_refuses_non_positive_numbers(field: str, bad: object) -> None:
    with pytest.raises(ConfigError, match=field):
        ArtifactPolicy(**{field: bad})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "kind", "length"),
    [
        ("héllo", "str", 5),
        ([1, 2, 3], "list", 3),
        ({"a": 1, "b": 2}, "dict", 2),
        (7, "int", None),
        (1.5, "float", None),
        (True, "bool", None),
        (None, "null", None),
    ],
)
def test_describe(value: Any, kind: str, length: int | None) -> None:
    data = encode(value)
    before = time.time()
    info = describe(value, data, ttl=60, session="s", name="label")
    assert valid_id(info.id)
    assert (info.kind, info.length, info.bytes) == (kind, length, len(data))
    assert before <= info.created <= time.time()
    assert info.expires == pytest.approx(info.created + 60)
    assert (info.session, info.execution, info.name) == ("s", None, "label")
    assert describe(value, data, ttl=1, id="art_" + "0" * 20).id == "art_" + "0" * 20


def test_info_to_dict_hides_the_execution_and_unset_fields() -> None:
    info = describe(5, b"5", ttl=10, execution="e1")
    data = info.to_dict()
    assert set(data) == {"id", "bytes", "kind", "length", "created", "expires"}
    assert data["length"] is None
    json.dumps(data)
    named = describe("ab", b'"ab"', ttl=10, session="s", execution="e", name="n").to_dict()
    assert (named["session"], named["name"], named["length"]) == ("s", "n", 2)
    assert "execution" not in named


# ----------------------------------------------------------------------------- both stores


def test_round_trip(store: ArtifactStore) -> None:
    value = {"rows": [1, 2.5, "três", None, True], "nested": {"k": []}}
    info = put(store, value, session="s1", execution="e1", name="result")
    assert json.loads(store.get(info.id) or b"") == value
    assert store.get(info.id) == encode(value)
    assert store.info(info.id) == info
    assert store.list() == [info]
    assert store.delete(info.id) is True
    assert store.get(info.id) is None
    assert store.info(info.id) is None
    assert store.list() == []
    assert store.delete(info.id) is False


def test_list_is_oldest_first(store: ArtifactStore) -> None:
    now = time.time()
    infos = [put_at(store, f"value {i}", now + i) for i in range(4)]
    assert [i.id for i in store.list()] == [i.id for i in infos]


@pytest.mark.parametrize(
    "bad", ["", "nope", "../x", "art_" + "0" * 20, "art_" + "G" * 20, "/etc/passwd"]
)
def test_unknown_or_invalid_ids(store: ArtifactStore, bad: str) -> None:
    put(store, "something")
    assert store.get(bad) is None
    assert store.info(bad) is None
    assert store.delete(bad) is False
    assert len(store.list()) == 1


def test_expired_artifacts_are_gone(store: ArtifactStore) -> None:
    now = time.time()
    data = encode("old")
    old = ArtifactInfo(
        id=new_artifact_id(), bytes=len(data), kind="str", length=3, created=now - 10, expires=now
    )
    store.put(old, data)
    fresh = put(store, "fresh")
    assert store.get(old.id) is None
    assert store.info(old.id) is None
    assert [i.id for i in store.list()] == [fresh.id]


def test_artifacts_expire_after_the_ttl(make_store: StoreFactory) -> None:
    store = make_store(ArtifactPolicy(ttl=0.05))
    first, second = put(store, "a"), put(store, [1, 2])
    assert store.get(first.id) == b'"a"'
    time.sleep(0.1)
    assert store.get(first.id) is None
    assert store.info(second.id) is None
    assert store.list() == []
    later = put(store, "b")
    assert store.list() == [later]


def test_oldest_are_evicted_beyond_max_bytes(make_store: StoreFactory) -> None:
    store = make_store(ArtifactPolicy(max_bytes=100))
    now = time.time()
    a, b = put_at(store, "a" * 38, now), put_at(store, "b" * 38, now + 1)  # 40 bytes each
    assert store.list() == [a, b]
    c = put_at(store, "c" * 38, now + 2)
    assert store.list() == [b, c]
    assert store.get(a.id) is None
    assert store.get(b.id) == encode("b" * 38)
    # One artifact above the whole budget (but within max_artifact_bytes) is kept alone.
    d = put_at(store, "d" * 200, now + 3)
    assert store.list() == [d]
    assert store.get(d.id) == encode("d" * 200)


def test_an_artifact_above_max_artifact_bytes_is_refused(make_store: StoreFactory) -> None:
    store = make_store(ArtifactPolicy(max_artifact_bytes=10))
    fits = put(store, "x" * 8)  # exactly 10 bytes of JSON
    assert fits.bytes == 10
    with pytest.raises(ValueError, match="11"):
        put(store, "x" * 9)
    assert store.list() == [fits]


def test_stores_satisfy_the_protocol(store: ArtifactStore) -> None:
    assert isinstance(store.policy, ArtifactPolicy)
    for name in ("put", "get", "info", "list", "delete"):
        assert callable(getattr(store, name))


# ------------------------------------------------------------------------- FileArtifacts


def test_files_are_one_json_and_one_meta(tmp_path: Path) -> None:
    store = FileArtifacts(tmp_path)
    info = put(store, ["x"], session="s")
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{info.id}.json", f"{info.id}.meta"]
    assert (tmp_path / f"{info.id}.json").read_bytes() == b'["x"]'
    assert ArtifactInfo(**json.loads((tmp_path / f"{info.id}.meta").read_text())) == info
    store.delete(info.id)
    assert list(tmp_path.iterdir()) == []


def test_expired_files_are_removed(tmp_path: Path) -> None:
    store = FileArtifacts(tmp_path, ArtifactPolicy(ttl=0.05))
    put(store, "short-lived")
    time.sleep(0.1)
    assert store.list() == []
    assert list(tmp_path.iterdir()) == []


def test_a_second_instance_sees_the_same_artifacts(tmp_path: Path) -> None:
    first, second = FileArtifacts(tmp_path), FileArtifacts(tmp_path)
    info = put(first, {"shared": True})
    assert second.info(info.id) == info
    assert json.loads(second.get(info.id) or b"") == {"shared": True}
    assert second.list() == [info]
    assert second.delete(info.id)
    assert first.get(info.id) is None


def test_artifacts_are_shared_with_another_process(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    script = tmp_path / "writer.py"
    script.write_text(
        textwrap.dedent(
            """
            import json, sys
            from codemode.artifacts import FileArtifacts, describe

            store = FileArtifacts(sys.argv[1])
            value = {"from": "child", "items": list(range(5)), "text": "ünïcode"}
            data = json.dumps(value, ensure_ascii=False).encode()
            info = describe(value, data, ttl=store.policy.ttl, name="child")
            store.put(info, data)
            print(info.id)
            """
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(script), str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=True,
    )
    artifact_id = done.stdout.strip()
    assert valid_id(artifact_id)
    store = FileArtifacts(directory)
    value = json.loads(store.get(artifact_id) or b"")
    assert value == {"from": "child", "items": [0, 1, 2, 3, 4], "text": "ünïcode"}
    info = store.info(artifact_id)
    assert info is not None
    assert (info.kind, info.length, info.name) == ("dict", 3, "child")
    assert [i.id for i in store.list()] == [artifact_id]


def test_leftovers_and_broken_files_are_ignored(tmp_path: Path) -> None:
    store = FileArtifacts(tmp_path)
    kept = put(store, "kept")
    orphan = new_artifact_id()
    (tmp_path / f"{orphan}.json").write_bytes(b'"data without meta"')
    (tmp_path / ".tmp-abc123").write_bytes(b"half written")
    broken = new_artifact_id()
    (tmp_path / f"{broken}.json").write_bytes(b"1")
    (tmp_path / f"{broken}.meta").write_bytes(b"{not json")
    stray = new_artifact_id()
    (tmp_path / f"{stray}.meta").write_text(json.dumps({"id": stray, "unexpected": 1}))
    assert store.list() == [kept]
    for artifact_id in (orphan, broken, stray):
        assert store.get(artifact_id) is None
        assert store.info(artifact_id) is None
    assert store.get(kept.id) == b'"kept"'


def test_ids_cannot_reach_outside_the_directory(tmp_path: Path) -> None:
    outside = describe("secret", b'"secret"', ttl=3600, id="art_" + "1" * 20)
    (tmp_path / "x.json").write_bytes(b'"secret"')
    (tmp_path / "x.meta").write_text(json.dumps({**outside.to_dict(), "id": "../x"}))
    store = FileArtifacts(tmp_path / "a")
    for bad in ("../x", "../../x", str(tmp_path / "x")):
        assert store.get(bad) is None
        assert store.info(bad) is None
        assert store.delete(bad) is False
    assert (tmp_path / "x.json").exists()
    assert (tmp_path / "x.meta").exists()


def test_the_directory_is_created(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "er"
    store = FileArtifacts(directory)
    assert directory.is_dir()
    put(store, 1)
    assert len(store.list()) == 1


def test_an_unusable_directory_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="artifact directory"):
        FileArtifacts(blocker / "sub")


# ------------------------------------------------------------------------- estimate_size


SAMPLES: list[Any] = [
    "",
    "plain ascii text",
    "x" * 10_000,
    [],
    [1, 2, 3],
    list(range(1000)),
    [True, False, None],
    [[1, 2], [3, [4, 5]]],
    {},
    {"a": 1},
    {"key": "value", "n": [1, 2, {"deep": "er"}]},
    {str(i): i for i in range(200)},
    [{"id": i, "name": f"user{i}", "tags": ["a", "b"]} for i in range(50)],
    1.5,
    -42,
    None,
]


@pytest.mark.parametrize("value", SAMPLES)
def test_estimate_is_at_least_the_json_size(value: Any) -> None:
    real = json_size(value)
    assert estimate_size(value, 10**9) >= real
    # Under any stop, it either passes the stop or is still an upper bound.
    for stop in (0, 1, real // 2, real - 1, real):
        estimate = estimate_size(value, stop)
        assert estimate > stop or estimate >= real


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("é" * 100, id="non-ascii (2 UTF-8 bytes a char)"),
        pytest.param("日本語" * 100, id="cjk (3 UTF-8 bytes a char)"),
        pytest.param("😀" * 100, id="emoji (4 UTF-8 bytes a char)"),
        pytest.param("line\n" * 100, id="escaped newlines"),
        pytest.param("\x01" * 100, id="control characters (6 bytes each)"),
        pytest.param(["abc"] * 100, id="list of short strings (', ' separators)"),
        pytest.param([[], [], []], id="list of empty lists"),
        pytest.param([0.1 + 0.2] * 10, id="floats with long reprs"),
        pytest.param([10**20] * 10, id="big ints"),
    ],
)
def test_estimate_is_at_least_the_json_size_for_every_value(value: Any) -> None:
    assert estimate_size(value, 10**9) >= json_size(value)


def test_estimate_stops_early_on_huge_values() -> None:
    huge = list(range(10**7))
    started = time.perf_counter()
    assert estimate_size(huge, 1000) > 1000
    assert estimate_size("x" * 10**7, 1000) > 1000
    assert estimate_size([["x" * 100] * 100] * 100, 1000) > 1000
    assert estimate_size({f"k{i}": "v" * 100 for i in range(1000)}, 1000) > 1000
    assert time.perf_counter() - started < 5


# ------------------------------------------------------------------------------- property

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def shared_stores(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ArtifactStore]:
    return {
        "memory": MemoryArtifacts(),
        "file": FileArtifacts(tmp_path_factory.mktemp("property")),
    }


@pytest.mark.parametrize("kind", ["memory", "file"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=json_values)
def test_any_json_value_round_trips(
    shared_stores: dict[str, ArtifactStore], kind: str, value: Any
) -> None:
    store = shared_stores[kind]
    info = put(store, value)
    assert json.loads(store.get(info.id) or b"") == value
    stored = store.info(info.id)
    assert stored is not None
    assert stored.bytes == json_size(value)
    assert store.delete(info.id)
