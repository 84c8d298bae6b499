"""Path searches are bounded in memory as well as in time: an answer with max_paths in
the billions stops at a cap of path nodes (and A* at a cap of search states), truncated
with the reason, instead of holding gigabytes once its search stopped."""

import pytest

from kale import Graph

CAP = 1 << 22  # kale_core::paths::MAX_RESULT_NODES


@pytest.fixture(scope="module")
def layered(tmp_path_factory):
    """s, four fully connected layers of 40 nodes, t: 40**4 = 2.56 million shortest paths."""
    d = tmp_path_factory.mktemp("layered")
    k, layers = 40, 4
    rows = [f"s\tr\tl0_{i}" for i in range(k)]
    for layer in range(layers - 1):
        rows += [f"l{layer}_{i}\tr\tl{layer + 1}_{j}" for i in range(k) for j in range(k)]
    rows += [f"l{layers - 1}_{i}\tr\tt" for i in range(k)]
    (d / "t.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return Graph.build(d / "g.kg", triples=d / "t.tsv", progress=False)


@pytest.mark.parametrize("method", ["shortest", "k_shortest"])
def test_path_answers_stop_at_the_memory_cap(layered, method):
    r = layered.paths("s", "t", method=method, max_hops=8, max_paths=10**9, timeout=None, max_expansions=10**12)
    assert r.truncated and r.reason == f"stopped at the memory cap for one answer ({CAP} path nodes)"
    assert 0 < len(r) * 6 <= CAP
    assert r[0].nodes[0] == layered.index("s") and r[-1].hops == 5


def test_astar_states_stop_at_their_cap(layered):
    r = layered.paths("s", "t", method="astar", max_hops=8, max_paths=10**9, timeout=None)
    assert r.truncated and r.reason == "stopped at the memory cap of 8388608 search states"
    assert len(r) > 0


def test_the_timeout_holds_while_paths_are_read(layered):
    # the bidirectional search meets at once; reading 2.56M paths off it is the slow part
    r = layered.paths("s", "t", max_hops=8, max_paths=10**9, timeout=0.001)
    assert r.truncated and r.reason == "stopped at the timeout" and r.seconds < 0.5
