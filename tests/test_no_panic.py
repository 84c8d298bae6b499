"""Inputs that once made the Rust core panic (a PanicException in Python, or a
traceback from the CLI) now give one clear KaleError line."""

import math

import pytest
from click.testing import CliRunner

from kale import Graph
from kale._core import PathResult
from kale.cli import main
from kale.exceptions import InputError, KaleValueError


def tiny_wordnet(folder, noun_lines):
    folder.mkdir()
    for part in ("noun", "verb", "adj", "adv"):
        (folder / f"data.{part}").write_text("", encoding="utf-8")
    (folder / "data.noun").write_text("".join(line + "\n" for line in noun_lines), encoding="utf-8")
    return folder


GOOD = "00001740 03 n 01 entity 0 000 | that which exists"


@pytest.mark.parametrize("count", ["ffffffffffffffff", "7fffffffffffffff", "ff"])
def test_wordnet_huge_word_count_is_a_bad_line(tmp_path, count):
    wn = tiny_wordnet(tmp_path / "wn", [GOOD, f"00001930 03 n {count} thing 0 000 | a thing"])
    with pytest.raises(InputError, match=r"data\.noun:2: the word count \d+ is more than"):
        Graph.build(tmp_path / "g.kg", wordnet=wn, progress=False)
    g = Graph.build(tmp_path / "g.kg", wordnet=wn, progress=False, on_error="skip")
    assert g.node_count == 1 and g.manifest["build"]["bad_lines"] == 1


def test_wordnet_huge_index_pointer_count_is_a_bad_line(tmp_path):
    wn = tiny_wordnet(tmp_path / "wn", [GOOD])
    (wn / "index.noun").write_text(f"entity n 1 {2**64 - 1} 1 0 00001740\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"index\.noun:1: cannot read this index line"):
        Graph.build(tmp_path / "g.kg", wordnet=wn, progress=False)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    d = tmp_path_factory.mktemp("chain")
    (d / "t.tsv").write_text("a\tr\tb\nb\tr\tc\n", encoding="utf-8")
    return Graph.build(d / "g.kg", triples=d / "t.tsv", progress=False)


@pytest.mark.parametrize("timeout", [1e308, 1.85e19, 2.0**70])
def test_huge_timeout_is_refused_in_one_line(chain, timeout):
    with pytest.raises(KaleValueError, match="timeout .* is too large"):
        chain.paths("a", "c", timeout=timeout)
    r = CliRunner().invoke(
        main, ["paths", str(chain.path), "a", "c", "--timeout", str(timeout)], catch_exceptions=False
    )
    assert r.exit_code == 1 and r.output.startswith("Error: timeout") and len(r.output.strip().splitlines()) == 1


def test_timeouts_beyond_the_clock_mean_no_deadline(chain):
    # 1e18 s fits a Duration but not Instant::now() + it: no deadline, not a panic
    assert len(chain.paths("a", "c", timeout=1e18)) == 1
    for method in ("shortest", "k_shortest", "astar"):
        r = chain.paths("a", "c", method=method, max_paths=2**64 - 1)
        assert len(r) == 1 and not r.truncated, method


@pytest.mark.parametrize("seconds", [math.inf, -math.inf, math.nan, 1e308, -1.0])
def test_path_result_from_any_float(seconds):
    assert PathResult([], False, None, 0, seconds, [0], [1]).seconds == 0.0


def test_generate_and_memory_bounds_are_one_line(tmp_path):
    from kale import _core
    from kale.graph import parse_memory

    # 2**40 relation names were made up front: memory ran out before a line was written
    with pytest.raises(KaleValueError, match="relations <= 65536"):
        _core.generate(tmp_path / "g.tsv", nodes=10, edges=10, relations=2**40)
    with pytest.raises(KaleValueError, match="beyond 16 EiB"):
        parse_memory("99999999999T")
