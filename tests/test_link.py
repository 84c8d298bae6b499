"""Entity linking: spans, word boundaries, Unicode offsets, batch APIs and bad input."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kale.exceptions import KaleValueError
from kale.link import Linker

ALIASES = ["red fox", "blue whale", "ice cream", "whale shark", "sun", "new york city", "apple", "goose"]
SEPARATORS = [" ", ", ", " 🙂 ", " שלום ", "\x00", " e\u0301 ", "\n", " — ", " 👩\u200d👩\u200d👧 ", " ﷺ ", "\t...\t"]


@pytest.fixture(scope="module")
def linker() -> Linker:
    return Linker.from_names(ALIASES)


@given(
    st.lists(
        st.tuples(st.sampled_from(ALIASES), st.sampled_from(SEPARATORS), st.sampled_from(["lower", "upper", "title"])),
        max_size=12,
    )
)
def test_every_planted_alias_is_found_at_its_span(linker, parts):
    text, want = "", []
    for alias, sep, case in parts:
        shown = getattr(alias, case)()
        want.append((len(text), len(text) + len(shown), alias))
        text += shown + sep
    got = [(m.start, m.end, m.alias) for m in linker.link(text)]
    assert got == want
    for m in linker.link(text):
        assert text[m.start : m.end] == m.mention
        assert m.mention.lower() == m.alias


@given(
    st.text(
        alphabet=st.sampled_from(list("abcdefghijklmnopqrstuvwxyz") + [" ", "é", "\u0301", "🙂", "ﬁ", "½", "-", "'"]),
        max_size=60,
    )
)
def test_nothing_matches_inside_a_word(text):
    linker = Linker.from_names(["ab", "abc", "b c", "fi", "e", "a b"])
    for m in linker.link(text):
        assert 0 <= m.start < m.end <= len(text)
        before = text[m.start - 1] if m.start > 0 else " "
        after = text[m.end] if m.end < len(text) else " "
        assert not before.isalnum() and not after.isalnum() and after != "\u0301"


def test_unicode_offsets_are_python_offsets(linker):
    text = "🙂🙂 Blue\u00a0Whale, שלום Apples! e\u0301 SUN"
    spans = [(text[m.start : m.end], m.alias) for m in linker.link(text)]
    assert spans == [("Blue\u00a0Whale", "blue whale"), ("Apples", "apple"), ("SUN", "sun")]


def test_inflection_and_exceptions(linker):
    text = "apples and geese and suns"
    assert [m.alias for m in linker.link(text)] == ["apple", "goose", "sun"]


def test_bad_input_never_panics(linker):
    assert linker.link("") == []
    assert linker.link("\x00\x01\x7f") == []
    # A lone surrogate cannot be UTF-8: it becomes U+FFFD, offsets unchanged.
    text = "\udcff sun \ud800x apple"
    assert [(m.start, m.end) for m in linker.link(text)] == [(2, 5), (9, 14)]
    huge = "the sun and an apple " * 50_000
    assert linker.count([huge]) == 100_000
    with pytest.raises(TypeError, match="not a str"):
        linker.link_batch([1, 2])
    with pytest.raises(KaleValueError, match="not one str"):
        linker.link_batch("one string")


def test_whole_answer_wins(linker):
    assert [m.alias for m in linker.link("new york city", whole=True)] == ["new york city"]
    short = Linker.from_names(["be", "it", "white", "white light", "light"])
    assert short.link("to be or not to be") == []
    assert [m.alias for m in short.link("Be", whole=True)] == ["be"]
    assert [m.alias for m in short.link("white light", whole=True)] == ["white light"]


def test_batch_matches_single_and_series(linker):
    texts = ["a red fox ate ice cream", "", "Whale shark and blue whale", None, "sun " * 100]
    single = [linker.link(t or "") for t in texts]
    assert linker.link_batch(texts, threads=2) == single
    assert linker.link_batch(pl.Series(texts)) == single
    frame = linker.link_frame(pl.Series(texts))
    assert frame.columns == ["row", "start", "end", "mention", "alias", "nodes", "scores"]
    assert frame.height == sum(len(s) for s in single)
    first = frame.row(0, named=True)
    assert (first["row"], first["mention"], first["alias"]) == (0, "red fox", "red fox")
    assert linker.link_frame([]).height == 0


@given(
    st.lists(
        st.tuples(
            st.sampled_from(ALIASES + ["Apples", "geese", "x"]), st.sampled_from(SEPARATORS + ["\ud800", " \udfff "])
        ),
        max_size=8,
    ),
    st.integers(0, 3),
)
def test_frame_holds_what_link_batch_returns(linker, parts, top_k):
    texts = ["".join(a + s for a, s in parts[:k]) for k in range(len(parts) + 1)]
    batch = linker.link_batch(texts, top_k=top_k)
    frame = linker.link_frame(texts, top_k=top_k)
    # Scores are f32 on both sides, so equal exactly.
    want = [
        (i, m.start, m.end, m.mention, m.alias, [c.node for c in m.candidates], [c.score for c in m.candidates])
        for i, ms in enumerate(batch)
        for m in ms
    ]
    assert frame.rows() == want
    assert frame.schema["nodes"] == pl.List(pl.UInt32) and frame.schema["scores"] == pl.List(pl.Float32)


def test_candidates_ranked_by_prior():
    linker = Linker.from_names(["Paris", "Paris", "paris", "Texas"], nodes=[0, 1, 2, 3], priors=[1.0, 5.0, 2.0, 1.0])
    (m,) = linker.link("Paris")
    assert [c.node for c in m.candidates] == [1, 2, 0]
    assert abs(sum(c.score for c in m.candidates) - 1.0) < 1e-5
    assert linker.lookup("PARIS")[0].node == 1


def test_context_prefers_candidates_near_other_mentions(tmp_path):
    from kale import Graph

    # Two Parises: the Texan one has more edges, so the prior prefers it; "France"
    # beside it should pull the French one up.
    triples = [("paris_fr", "country", "france"), ("paris_tx", "state", "texas")] + [
        ("paris_tx", "near", f"town{i}") for i in range(5)
    ]
    (tmp_path / "t.tsv").write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in triples))
    labels = {"paris_fr": "Paris", "paris_tx": "Paris", "france": "France", "texas": "Texas"}
    (tmp_path / "l.tsv").write_text("".join(f"{k}\t{v}\n" for k, v in labels.items()))
    g = Graph.build(tmp_path / "g.kg", triples=tmp_path / "t.tsv", labels=tmp_path / "l.tsv", progress=False)
    linker = Linker.build(g)
    plain = linker.link("Paris is in France")
    assert g.id(plain[0].top.node) == "paris_tx"
    ranked = linker.link("Paris is in France", context=True)
    assert g.id(ranked[0].top.node) == "paris_fr"
    q, a = linker.link_qa("Which state is Paris in?", "Texas")
    assert g.id(q[-1].top.node) == "paris_tx" and a[0].top.label == "Texas"
    with pytest.raises(KaleValueError, match="needs a graph"):
        Linker.from_names(["x"]).link("x", context=True)
