"""A built graph's files: corruption is caught, never a crash; opening is O(1)."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kale import Graph
from kale.exceptions import GraphFormatError, GraphVersionError, InputError, KaleError


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("files")
    src = tmp / "t.tsv"
    src.write_text("".join(f"Q{i}\tP{i % 3}\tQ{(i * 7) % 50}\n" for i in range(200)), encoding="utf-8")
    (tmp / "l.tsv").write_text("".join(f"Q{i}\tnode {i}\n" for i in range(50)), encoding="utf-8")
    Graph.build(tmp / "g.kg", triples=src, labels=tmp / "l.tsv", progress=False)
    return tmp / "g.kg"


def copy_graph(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def exercise(g):
    """Touch every accessor on every node; none may crash whatever the files hold."""
    for n in range(g.node_count):
        g.neighbours(n, "both")
        g.label(n), g.aliases(n), g.id(n), g.description(n)
    g.find("node 3")
    g.degrees()


def test_truncated_array_is_a_format_error(built, tmp_path):
    g = copy_graph(built, tmp_path / "g.kg")
    data = (g / "out_targets.u32").read_bytes()
    (g / "out_targets.u32").write_bytes(data[:-4])
    with pytest.raises(GraphFormatError, match="out_targets.u32 holds .* truncated"):
        Graph.open(g)


def test_missing_array_is_a_format_error(built, tmp_path):
    g = copy_graph(built, tmp_path / "g.kg")
    (g / "labels.bytes").unlink()
    with pytest.raises(GraphFormatError, match="labels.bytes is missing"):
        Graph.open(g)


def test_edited_manifest_is_a_format_error(built, tmp_path):
    g = copy_graph(built, tmp_path / "g.kg")
    m = json.loads((g / "manifest.json").read_text())
    m["build"]["seconds"] += 1
    (g / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(GraphFormatError, match="manifest does not match its own checksum"):
        Graph.open(g)


def test_other_format_version(built, tmp_path):
    g = copy_graph(built, tmp_path / "g.kg")
    m = json.loads((g / "manifest.json").read_text())
    m["format_version"] = 99
    (g / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(GraphVersionError, match="version 99 is not supported"):
        Graph.open(g)


@given(position=st.integers(min_value=0), value=st.integers(min_value=0, max_value=255), which=st.integers(min_value=0))
def test_flipped_bytes_fail_verify_and_never_crash(built, tmp_path_factory, position, value, which):
    g = copy_graph(built, tmp_path_factory.mktemp("flip") / "g.kg")
    files = sorted(f for f in g.iterdir() if f.stat().st_size > 0)
    target = files[which % len(files)]
    data = bytearray(target.read_bytes())
    position %= len(data)
    if data[position] == value:
        value = (value + 1) % 256
    data[position] = value
    target.write_bytes(bytes(data))
    try:
        graph = Graph.open(g)
    except KaleError:
        return  # caught at open: fine
    if target.name == "manifest.json":
        # Only a change that leaves the JSON's meaning intact (e.g. whitespace) opens.
        assert graph.manifest == Graph.open(built).manifest
        return
    with pytest.raises(GraphFormatError, match="checksum"):
        graph.verify()
    exercise(graph)


@given(data=st.binary(max_size=300))
def test_random_bytes_as_input_never_crash(tmp_path_factory, data):
    tmp = tmp_path_factory.mktemp("fuzz")
    for name, kwargs in (("x.tsv", "triples"), ("x.nt", "ntriples"), ("x.csv", "triples")):
        (tmp / name).write_bytes(data)
        for on_error in ("fail", "skip"):
            out = tmp / f"{name}.{on_error}.kg"
            try:
                g = Graph.build(out, **{kwargs: tmp / name}, progress=False, on_error=on_error)
            except (InputError, KaleError) as e:
                assert str(e)
                assert not out.exists()
                continue
            exercise(g)


WORDNET_LINES = [
    "00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 ~ 00002137 n 0000 ~ 04431553 n 0000 | that which is perceived or known or inferred to have its own distinct existence (living or nonliving)",
    "00001930 03 n 01 physical_entity 0 007 @ 00001740 n 0000 ~ 00002452 n 0000 ~ 00002684 n 0000 ~ 00007347 n 0000 ~ 00020827 n 0000 ~ 00029677 n 0000 ~ 14580597 n 0000 | an entity that has physical existence",
    "00002098 00 a 01 unable 0 002 = 05200169 n 0000 ! 00001740 a 0101 | (usually followed by `to') not having the necessary means",
]


@given(data=st.data())
def test_mutated_wordnet_files_never_crash(tmp_path_factory, data):
    """The WordNet reader on real lines with random edits: a clear error or a graph."""
    tmp = tmp_path_factory.mktemp("wn")
    lines = list(WORDNET_LINES)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        at = data.draw(st.integers(0, len(line)))
        cut = data.draw(st.integers(0, 12))
        insert = data.draw(st.text(alphabet="0123456789abcdef nrva|@~!_ \t", max_size=6))
        lines[i] = line[:at] + insert + line[at + cut :]
    for part in ("noun", "verb", "adj", "adv"):
        (tmp / f"data.{part}").write_text("\n".join(lines) + "\n" if part == "noun" else "", encoding="utf-8")
    for on_error in ("fail", "skip"):
        out = tmp / f"{on_error}.kg"
        try:
            g = Graph.build(out, wordnet=tmp, progress=False, on_error=on_error)
        except KaleError as e:
            assert on_error == "fail" and "data.noun:" in str(e)
            continue
        exercise(g)


@pytest.mark.parametrize("which", ["labels.bytes", "manifest.json"])
def test_arrays_must_be_plain_files_in_the_graph(built, tmp_path, which):
    import os

    g = copy_graph(built, tmp_path / "g.kg")
    outside = tmp_path / "outside"
    (g / which).rename(outside)
    (g / which).symlink_to(outside)  # the same bytes, but not the graph's own file
    with pytest.raises(GraphFormatError, match=f"{which} is a symbolic link, not a plain file"):
        Graph.open(g)
    (g / which).unlink()
    (g / which).symlink_to("/dev/zero")
    with pytest.raises(GraphFormatError, match=f"{which} is a symbolic link"):
        Graph.open(g)
    (g / which).unlink()
    os.mkfifo(g / which)  # opening a FIFO must not wait for a writer
    with pytest.raises(GraphFormatError, match=f"{which} is not a plain file"):
        Graph.open(g)
