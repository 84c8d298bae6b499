"""What the readers once accepted silently or counted wrong: every line they do not
turn into graph data is a bad line (with its file and line, skippable) or a counted skip."""

import pytest

from kale import Graph
from kale.exceptions import InputError

ENTITY = "http://www.wikidata.org/entity/"
DIRECT = "http://www.wikidata.org/prop/direct/"


def build(tmp_path, **kw):
    return Graph.build(tmp_path / "g.kg", progress=False, overwrite=True, **kw)


def test_unterminated_csv_quote_counts_every_line_it_swallowed(tmp_path):
    lines = [f"a{i},r,b{i}" for i in range(500)]
    lines[10] = 'a10,r,"b10'
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(
        InputError, match=r"t\.csv:11: a quoted field runs over 490 lines, to line 500: an unterminated quote\?"
    ):
        build(tmp_path, triples=tmp_path / "t.csv")
    g = build(tmp_path, triples=tmp_path / "t.csv", on_error="skip")
    assert g.edge_count == 10 and g.manifest["build"]["bad_lines"] == 490, "10 edges + 490 lost lines = 500"


def test_tsv_comment_lines_are_counted(tmp_path):
    (tmp_path / "t.tsv").write_text("# head\trelation\ttail\na\tr\tb\n#\n", encoding="utf-8")
    g = build(tmp_path, triples=tmp_path / "t.tsv")
    assert g.edge_count == 1 and g.manifest["build"]["skipped"] == {"comment line (#)": 2}


@pytest.mark.parametrize(
    "bad, message",
    [
        ("x\x00y\tr\tz", r'the id "x\\0y" holds a NUL character'),
        ("a\tr\x00\tz", r'the id "r\\0" holds a NUL character'),
        ("x" * (1 << 24) + "\tr\tz", "an id of 16777216 bytes is longer than the 16 MiB limit"),
    ],
)
def test_ids_that_cannot_be_ids_are_bad_lines(tmp_path, bad, message):
    (tmp_path / "t.tsv").write_text(f"a\tr\tb\n{bad}\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"t\.tsv:2: {message}"):
        build(tmp_path, triples=tmp_path / "t.tsv")
    g = build(tmp_path, triples=tmp_path / "t.tsv", on_error="skip")
    assert (g.edge_count, g.manifest["build"]["bad_lines"]) == (1, 1)


def test_ntriples_escapes_are_strict_and_a_bom_is_accepted(tmp_path):
    good = f"<{ENTITY}Q1> <{DIRECT}P31> <{ENTITY}Q5> ."
    (tmp_path / "a.nt").write_text("\ufeff" + good + "\n", encoding="utf-8")
    assert build(tmp_path, ntriples=tmp_path / "a.nt").edge_count == 1, "a BOM, as the TSV reader takes it"
    label = f'<{ENTITY}Q1> <http://www.w3.org/2000/01/rdf-schema#label> "\\u+041"@en .'
    (tmp_path / "b.nt").write_text(good + "\n" + label + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"b\.nt:2: .*bad escape \\u\+041"):
        build(tmp_path, ntriples=tmp_path / "b.nt")


def test_wordnet_pointer_to_an_undefined_synset_is_a_bad_line(tmp_path):
    wn = tmp_path / "wn"
    wn.mkdir()
    for part in ("verb", "adj", "adv"):
        (wn / f"data.{part}").write_text("", encoding="utf-8")
    (wn / "data.noun").write_text(
        "00001740 03 n 01 entity 0 001 ~ 00001930 n 0000 | that which exists\n"
        "00001930 03 n 01 thing 0 001 @ 00001740 n 0000 | a thing\n"
        "00002137 03 n 01 other 0 001 @ 09999999 n 0000 | points nowhere\n",
        encoding="utf-8",
    )
    with pytest.raises(
        InputError, match=r"data\.noun:3: pointer 0 names synset 09999999-n, which no data file defines"
    ):
        build(tmp_path, wordnet=wn)
    g = build(tmp_path, wordnet=wn, on_error="skip")
    assert g.node_count == 2 and g.manifest["build"]["bad_lines"] == 1, "no nameless node for 09999999"
    assert all(g.label(n) for n in range(g.node_count))
