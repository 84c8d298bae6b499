"""Random triples -> build -> every query equals a plain-Python reference."""

from collections import defaultdict

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kale import Graph
from kale.exceptions import GraphFormatError, InputError, KaleFileNotFoundError, KaleValueError

ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters='#,"\t\n\r'),
    min_size=1,
    max_size=6,
)
triples_strategy = st.lists(
    st.tuples(ids, st.sampled_from(["P31", "P279", "knows", "part of", "é"]), ids), min_size=0, max_size=60
)


def write_tsv(path, rows):
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def reference(rows):
    """Adjacency as the graph should report it: deduplicated, sorted by (relation, neighbour)."""
    out, inn = defaultdict(set), defaultdict(set)
    for h, r, t in rows:
        out[h].add((r, t))
        inn[t].add((r, h))
    return out, inn


@given(rows=triples_strategy)
def test_neighbours_match_reference(tmp_path_factory, rows):
    rows = [tuple(x.strip() for x in r) for r in rows]
    rows = [r for r in rows if all(r) and not r[0].startswith("#")]
    tmp = tmp_path_factory.mktemp("g")
    src = write_tsv(tmp / "t.tsv", rows or [("a", "r", "b")])
    rows = rows or [("a", "r", "b")]
    g = Graph.build(tmp / "g.kg", triples=src, progress=False, memory="16M")
    out, inn = reference(rows)
    nodes = {x for h, _, t in rows for x in (h, t)}
    assert g.node_count == len(nodes)
    assert g.edge_count == len(set(rows))
    for name in nodes:
        n = g.index(name)
        assert g.id(n) == name
        for direction, ref in (("out", out), ("in", inn)):
            nb, rel, outgoing = g.neighbours(n, direction)
            got = [(g.relation_id(int(r)), g.id(int(x))) for x, r in zip(nb, rel)]
            assert sorted(got) == sorted(ref[name])
            assert len(got) == len(ref[name])
            assert list(rel) == sorted(rel), "adjacency must be sorted by relation"
            assert outgoing.all() == (direction == "out") or len(outgoing) == 0
        assert g.degree(n) == len(out[name]) + len(inn[name])
        for r in {r for r, _ in out[name]}:
            nb, rel, _ = g.neighbours(n, "out", g.relation_index(r))
            assert sorted(g.id(int(x)) for x in nb) == sorted(t for rr, t in out[name] if rr == r)
    assert g.degrees().sum() == 2 * g.edge_count


def test_external_sort_equals_in_memory(tmp_path):
    """A budget far below the input forces sorted runs on disk; the graph must not change."""
    rng = np.random.default_rng(0)
    rows = [
        (f"Q{a}", f"P{r}", f"Q{b}")
        for a, r, b in zip(rng.integers(0, 5000, 300_000), rng.integers(0, 50, 300_000), rng.integers(0, 5000, 300_000))
    ]
    src = write_tsv(tmp_path / "t.tsv", rows)
    small = Graph.build(tmp_path / "small.kg", triples=src, progress=False, memory="1M")
    big = Graph.build(tmp_path / "big.kg", triples=src, progress=False, memory="1G")
    assert small.manifest["build"]["spilled_runs"] > 1
    assert big.manifest["build"]["spilled_runs"] == 0
    assert {k: v["xxh3"] for k, v in small.manifest["arrays"].items()} == {
        k: v["xxh3"] for k, v in big.manifest["arrays"].items()
    }


names = (
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)
    .map(str.strip)
    .filter(bool)
    .filter(lambda s: "\t" not in s and not s.startswith("#"))
)


@given(label=names, alias=names, description=names)
def test_names_round_trip_any_unicode(tmp_path_factory, label, alias, description):
    tmp = tmp_path_factory.mktemp("n")
    src = write_tsv(tmp / "t.tsv", [("Q1", "P1", "Q2")])
    g = Graph.build(
        tmp / "g.kg",
        triples=src,
        labels=write_tsv(tmp / "l.tsv", [("Q1", label)]),
        aliases=write_tsv(tmp / "a.tsv", [("Q1", alias)]),
        descriptions=write_tsv(tmp / "d.tsv", [("Q1", description)]),
        progress=False,
    )
    q1 = g.index("Q1")
    assert g.label(q1) == label
    assert g.description(q1) == description
    assert g.aliases(q1) == ([] if alias == label else [alias])
    assert q1 in g.find(label) and q1 in g.find(label.lower()) and q1 in g.find(alias)
    assert g.resolve(label) == q1
    assert g.label(g.index("Q2")) is None


def test_csv_with_quotes_and_header(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text('head,relation,tail\n"Paris, France",capital of,France\n', encoding="utf-8")
    g = Graph.build(tmp_path / "g.kg", triples=src, header=True, progress=False)
    assert g.edge_count == 1
    nb, _, _ = g.neighbours(g.index("Paris, France"))
    assert g.id(int(nb[0])) == "France"


def test_compressed_inputs(tmp_path):
    import bz2
    import gzip

    text = "a\tr\tb\nb\tr\tc\n"
    (tmp_path / "t.tsv.gz").write_bytes(gzip.compress(text.encode()))
    (tmp_path / "t.tsv.bz2").write_bytes(bz2.compress(text.encode()))
    for name in ("t.tsv.gz", "t.tsv.bz2"):
        g = Graph.build(tmp_path / f"{name}.kg", triples=tmp_path / name, progress=False)
        assert (g.node_count, g.edge_count) == (3, 2)


def test_malformed_line_fails_with_file_and_line_or_is_skipped(tmp_path):
    src = tmp_path / "bad.tsv"
    src.write_text("a\tr\tb\nonly two\tcolumns\nc\tr\t\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.tsv:2: expected 3 columns"):
        Graph.build(tmp_path / "g.kg", triples=src, progress=False)
    assert not (tmp_path / "g.kg").exists()
    assert not [p for p in tmp_path.iterdir() if "partial" in p.name], "no partial directory may be left behind"
    g = Graph.build(tmp_path / "g.kg", triples=src, progress=False, on_error="skip")
    assert g.edge_count == 1
    assert g.manifest["build"]["bad_lines"] == 2
    assert "bad.tsv:3: column 3 is empty" in g.manifest["build"]["bad_line_examples"][1]


def test_invalid_utf8_is_a_bad_line(tmp_path):
    src = tmp_path / "bad.tsv"
    src.write_bytes(b"a\tr\tb\n\xff\xfe\tr\tb\n")
    with pytest.raises(InputError, match=r"bad\.tsv:2: column 1 is not UTF-8"):
        Graph.build(tmp_path / "g.kg", triples=src, progress=False)


def test_build_refuses_to_overwrite_unless_asked(tmp_path):
    src = write_tsv(tmp_path / "t.tsv", [("a", "r", "b")])
    Graph.build(tmp_path / "g.kg", triples=src, progress=False)
    with pytest.raises(KaleValueError, match="already exists"):
        Graph.build(tmp_path / "g.kg", triples=src, progress=False)
    write_tsv(src, [("a", "r", "b"), ("b", "r", "c")])
    assert Graph.build(tmp_path / "g.kg", triples=src, progress=False, overwrite=True).edge_count == 2


def test_bad_arguments_are_clear(tmp_path):
    with pytest.raises(KaleValueError, match="exactly one of"):
        Graph.build(tmp_path / "g.kg")
    with pytest.raises(KaleFileNotFoundError, match="nope.tsv"):
        Graph.build(tmp_path / "g.kg", triples=tmp_path / "nope.tsv", progress=False)
    with pytest.raises(KaleValueError, match="memory size"):
        Graph.build(tmp_path / "g.kg", triples=tmp_path / "nope.tsv", memory="lots")
    with pytest.raises(KaleValueError, match="WordNet"):
        Graph.build(tmp_path / "g.kg", wordnet=tmp_path, progress=False)
    with pytest.raises(KaleFileNotFoundError):
        Graph.open(tmp_path / "missing.kg")
    (tmp_path / "empty.kg").mkdir()
    with pytest.raises(GraphFormatError, match="manifest.json is missing"):
        Graph.open(tmp_path / "empty.kg")
    g = Graph.build(tmp_path / "g.kg", triples=write_tsv(tmp_path / "t.tsv", [("a", "r", "b")]), progress=False)
    with pytest.raises(KeyError, match="unknown entity 'zzz'"):
        g.index("zzz")
    with pytest.raises(ValueError, match="out of range"):
        g.neighbours(99)
    with pytest.raises(ValueError, match="direction"):
        g.neighbours(0, "sideways")
