"""The real inputs: Debian's WordNet, CoDEx-M (real Wikidata ids), Wikidata N-Triples lines."""

import gzip

import pytest

from kale import Graph
from kale.exceptions import InputError


def test_wordnet(wordnet_graph):
    g = wordnet_graph
    assert g.node_count == 117_659  # WordNet 3.0's synsets
    assert g.manifest["descriptions"] == 117_659
    dog = g.index("02084071-n")
    assert g.label(dog) == "dog"
    assert "Canis familiaris" in g.aliases(dog) and "dog.n.01" in g.aliases(dog)
    assert g.description(dog).startswith("a member of the genus Canis")
    assert g.resolve("dog.n.01") == dog
    hypernym = g.relation_index("hypernym")
    parents = {g.label(int(x)) for x in g.neighbours(dog, "out", hypernym)[0]}
    assert parents == {"canine", "domestic animal"}
    children = {g.label(int(x)) for x in g.neighbours(dog, "in", hypernym)[0]}
    assert "puppy" in children
    # every hypernym pointer has its hyponym pointer back
    assert g.relation_counts()[hypernym] == g.relation_counts()[g.relation_index("hyponym")]
    assert g.resolve("white.a.01") == g.index("00393105-a")


def test_codex_m_matches_its_triple_count(shared_dir, tmp_path):
    codex = shared_dir / "data" / "codex-m"
    g = Graph.build(
        tmp_path / "codex.kg", triples=codex / "triples.tsv", relation_labels=codex / "relations.json", progress=False
    )
    assert (g.node_count, g.edge_count, g.relation_count) == (17_050, 206_205, 51)
    assert g.manifest["build"]["duplicate_edges"] == 0
    assert g.relation_name(g.relation_index("P106")) == "occupation"
    # The README counts distinct neighbours; parallel edges of other relations add to degree.
    top = g.degrees().argsort()[-20:]
    assert max(len(set(g.neighbours(int(n), "both")[0].tolist())) for n in top) == 6_683


NT = """\
# a comment line
<http://www.wikidata.org/entity/Q42> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q5> .
<http://www.wikidata.org/entity/Q42> <http://www.wikidata.org/prop/direct/P106> <http://www.wikidata.org/entity/Q36180> . # trailing comment
<http://www.wikidata.org/entity/Q42> <http://www.wikidata.org/prop/direct/P569> "1952-03-11T00:00:00Z"^^<http://www.w3.org/2001/XMLSchema#dateTime> .
<http://www.wikidata.org/entity/Q42> <http://www.w3.org/2000/01/rdf-schema#label> "Douglas Adams"@en .
<http://www.wikidata.org/entity/Q42> <http://schema.org/name> "Douglas Adams"@en .
<http://www.wikidata.org/entity/Q42> <http://www.w3.org/2000/01/rdf-schema#label> "Дуглас Адамс"@ru .
<http://www.wikidata.org/entity/Q42> <http://www.w3.org/2004/02/skos/core#altLabel> "Douglas Noel Adams"@en .
<http://www.wikidata.org/entity/Q42> <http://www.w3.org/2004/02/skos/core#altLabel> "DNA \\"42\\" \\u00E9\\U0001F600"@en .
<http://www.wikidata.org/entity/Q42> <http://schema.org/description> "English writer and humorist"@en .
<http://www.wikidata.org/entity/Q5> <http://www.w3.org/2000/01/rdf-schema#label> "human"@mul .
<http://www.wikidata.org/entity/Q5> <http://www.w3.org/2000/01/rdf-schema#label> "human being"@en-gb .
<http://www.wikidata.org/entity/P31> <http://www.w3.org/2000/01/rdf-schema#label> "instance of"@en .
<http://www.wikidata.org/entity/Q42> <http://www.wikidata.org/prop/direct/P18> <http://commons.wikimedia.org/wiki/Special:FilePath/Douglas%20adams.jpg> .
_:b0 <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q5> .
<http://example.org/x> <http://example.org/p> <http://example.org/y> .
<http://www.wikidata.org/entity/Q36180> <http://www.wikidata.org/prop/direct/P279> _:b1 .

"""


def test_wikidata_ntriples(tmp_path):
    path = tmp_path / "truthy.nt.gz"
    path.write_bytes(gzip.compress(NT.encode()))
    g = Graph.build(tmp_path / "wd.kg", ntriples=path, progress=False)
    assert g.edge_count == 2
    q42 = g.index("Q42")
    assert g.label(q42) == "Douglas Adams"
    assert sorted(g.aliases(q42)) == sorted(["Douglas Noel Adams", 'DNA "42" é😀'])
    assert g.description(q42) == "English writer and humorist"
    assert g.label(g.index("Q5")) == "human"  # en-gb is another language
    assert g.relation_name(g.relation_index("P31")) == "instance of"
    assert g.relation_name(g.relation_index("P106")) == "P106"
    skipped = g.manifest["build"]["skipped"]
    assert skipped["statement with a literal value"] == 1
    assert skipped["statement with a non-item value"] == 1
    assert skipped["blank-node subject"] == 1
    assert skipped["statement with a blank-node value"] == 1
    assert skipped["name in another language"] == 2
    assert skipped["other predicate"] == 1


def test_ntriples_languages_choose_the_label(tmp_path):
    path = tmp_path / "t.nt"
    path.write_text(NT, encoding="utf-8")
    g = Graph.build(tmp_path / "ru.kg", ntriples=path, languages=["ru", "en"], progress=False)
    assert g.label(g.index("Q42")) == "Дуглас Адамс"
    assert "Douglas Adams" in g.aliases(g.index("Q42"))


@pytest.mark.parametrize(
    "line, message",
    [
        (
            "<http://www.wikidata.org/entity/Q1> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q2>",
            "missing the final '.'",
        ),
        (
            '<http://www.wikidata.org/entity/Q1> <http://www.w3.org/2000/01/rdf-schema#label> "open@en .',
            "no closing quote",
        ),
        (
            '<http://www.wikidata.org/entity/Q1> <http://www.w3.org/2000/01/rdf-schema#label> "bad \\q"@en .',
            "unknown escape",
        ),
        ("<http://www.wikidata.org/entity/Q1 <p> <o> .", "contains a space"),
    ],
)
def test_ntriples_malformed_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "bad.nt"
    path.write_text("# header\n" + line + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=rf"bad\.nt:2: .*{message}"):
        Graph.build(tmp_path / "g.kg", ntriples=path, progress=False)
