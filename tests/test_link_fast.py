"""The linker's fast paths agree with the general ones: the ASCII tokeniser with the
normalisation spec, the per-thread word cache (warm or cold) with a fresh scan, and
the inflections resolved at build time with those worked out during a scan."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from kale.link import Linker

ASCII = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=127), max_size=80)
MIXED = st.text(
    alphabet=st.sampled_from(list("abcAB z09.-'\t\n") + ["é", "\u0301", "ß", "½", "ﬁ", "🙂", "\u00ad", "Σ", "ς", "İ"]),
    max_size=60,
)
WORDS = [
    "apple",
    "apples",
    "box",
    "boxes",
    "goose",
    "geese",
    "red fox",
    "fox",
    "ice cream",
    "cream",
    "glasses",
    "glass",
    "run",
    "ran",
    "über",
    "ss",
]


@given(ASCII)
def test_ascii_normalisation_matches_the_spec(text):
    # ASCII text: words are runs of [A-Za-z0-9], lower-cased, joined by one space.
    assert Linker.normalise(text) == " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@given(MIXED)
def test_ascii_and_unicode_words_split_alike(text):
    # A text normalises the same whether its ASCII words come first, last or alone:
    # the ASCII fast path and the general path agree at every boundary.
    norm = Linker.normalise(text)
    assert norm == " ".join(w for w in norm.split(" ") if w)
    assert Linker.normalise(text + " x") == (norm + " x").strip()
    assert Linker.normalise("x " + text) == ("x " + norm).strip()


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.sampled_from(WORDS + ["the", "and", "geese.", "Apples,", "RAN", "uber", "x"]), max_size=12).map(
            " ".join
        ),
        min_size=1,
        max_size=6,
    )
)
def test_warm_word_cache_gives_the_same_mentions_as_cold(texts):
    linker = Linker.from_names(WORDS)
    warm = linker.link_batch(texts + texts[::-1], threads=1)
    cold = [Linker.from_names(WORDS).link(t) for t in texts]
    assert warm[: len(texts)] == cold
    assert warm[len(texts) :] == cold[::-1]


def test_inflections_resolved_at_build_match_scan_time_ones():
    # "apples" is an alias word here (inside "apples pie"), so its reading was fixed
    # at build time; "boxes" never occurs in an alias and is worked out during the scan.
    linker = Linker.from_names(["apple", "apples pie", "box", "goose", "geese flock"])
    got = [(m.mention, m.alias) for m in linker.link("Apples and boxes, geese; apples pie, geese flock")]
    assert got == [
        ("Apples", "apple"),
        ("boxes", "box"),
        ("geese", "goose"),
        ("apples pie", "apple pie"),
        ("geese flock", "goose flock"),
    ]
