"""Entity linking on the real WordNet graph: its lemmas and CommonsenseQA-like questions."""

from __future__ import annotations

import random

import pytest

from kale.link import Linker


@pytest.fixture(scope="module")
def wn(wordnet_graph):
    return wordnet_graph, Linker.build(wordnet_graph)


def test_index_is_small_and_quick(wn):
    _, linker = wn
    assert linker.alias_count > 140_000
    assert linker.heap_bytes / linker.alias_count < 100
    assert linker.build_seconds < 10


def test_every_sampled_lemma_links_to_its_synset(wn):
    g, linker = wn
    rng = random.Random(0)
    nodes = rng.sample(range(g.node_count), 400)
    for node in nodes:
        label = g.label(node)
        mentions = linker.link(label, whole=True, top_k=10_000)
        assert len(mentions) == 1, (label, mentions)
        (m,) = mentions
        words = [i for i, ch in enumerate(label) if ch.isalnum()]
        assert (m.start, m.end) == (words[0], words[-1] + 1), label
        assert node in [c.node for c in m.candidates], label


def test_planted_lemmas_in_sentences(wn):
    g, linker = wn
    rng = random.Random(1)
    labels = [g.label(n) for n in rng.sample(range(g.node_count), 300)]
    text, spans = "", []
    for label in labels:
        prefix = "Then, «"
        text += prefix
        spans.append((len(text), len(text) + len(label)))
        text += label + "» appeared. "
    found = {(m.start, m.end) for m in linker.link(text)}
    # Each planted lemma is found unless a longer alias swallows it or it is
    # short or a stop-word (those match only as a whole text): nearly all.
    assert sum(s in found for s in spans) >= 0.9 * len(spans)


def top(g, mention):
    return g.label(mention.top.node)


@pytest.mark.parametrize(
    ("question", "answer", "want_q", "want_a"),
    [
        ("What is the true color of the Sun?", "White", {"sun", "color"}, {"white"}),
        ("Where would you find a jellyfish that has not been captured?", "ocean", {"jellyfish"}, {"ocean"}),
        ("The apples fell from the trees onto the geese.", "orchard", {"apple", "tree", "goose"}, {"orchard"}),
        ("What do people use to cut paper?", "scissors", {"people", "paper"}, {"scissors"}),
        ("Where do you keep milk so it stays cold?", "refrigerator", {"milk"}, {"refrigerator"}),
    ],
)
def test_commonsense_questions(wn, question, answer, want_q, want_a):
    g, linker = wn
    eq, ea = linker.link_qa(question, answer)
    assert want_q <= {m.alias for m in eq}, [m.alias for m in eq]
    assert {m.alias for m in ea} == want_a
    for m in eq + ea:
        assert question[m.start : m.end] == m.mention or answer[m.start : m.end] == m.mention


def test_sun_and_white_pick_the_nouns(wn):
    g, linker = wn
    eq, ea = linker.link_qa("What is the true color of the Sun?", "White")
    by_alias = {m.alias: m for m in eq}
    assert g.id(by_alias["sun"].top.node).endswith("-n")
    assert g.id(by_alias["color"].top.node).endswith("-n")
    assert g.id(ea[0].top.node).endswith("-n")
    assert "the true" not in by_alias  # an article-led alias matches only a whole text


def test_cli_prints_mentions(wn, tmp_path):
    from click.testing import CliRunner

    from kale.cli.link import link_command

    g, _ = wn
    result = CliRunner().invoke(
        link_command, [str(g.path), "What is the true color of the Sun?", "--answer", "White", "--top-k", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "'Sun' [sun] -> sun (" in result.output
    assert "A 0:5 'White' [white] -> white (" in result.output


def test_default_prior_is_degree_plus_one_doubled_for_nouns(wn):
    """Linker.build's docstring: a node's prior is its degree + 1, doubled for WordNet nouns
    (and a label counts label_boost=2 times an alias)."""
    g, linker = wn
    found = linker._core.lookup("sun")
    assert len(found) > 3
    for node, prior in found:
        noun = g.id(node).endswith("-n")
        label = linker._core.normalise(g.label(node)) == "sun"
        assert prior == (g.degree(node) + 1) * (2 if noun else 1) * (2 if label else 1), g.id(node)
