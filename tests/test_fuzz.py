"""Byte-mutation fuzzing of every reader and of opening a graph, for a fixed time each:
whatever the bytes, a build or an open succeeds or raises a KaleError (one clear line),
never a panic or another exception. The seed is fixed, so a failure reproduces;
KALE_FUZZ_SECONDS runs longer by hand."""

import os
import random
import re
import time

import pytest

from kale import Graph
from kale.exceptions import KaleError

SECONDS = float(os.environ.get("KALE_FUZZ_SECONDS", "3"))
SPECIAL = [
    b"\0",
    b"\n",
    b"\r",
    b"\t",
    b",",
    b'"',
    b"\\",
    b"#",
    b"<",
    b">",
    b"|",
    b" ",
    b"\xff",
    b"\xef\xbb\xbf",
    b"\\u",
    b"ffffffff",
]

TSV = b"a\tr\tb\nb\tr\tc\nc\ts\ta\n"
CSV = b'head,relation,tail\na,r,"b, the second"\n"c ""q""",r,a\n'
NT = (
    b"<http://www.wikidata.org/entity/Q1> <http://www.wikidata.org/prop/direct/P31> <http://www.wikidata.org/entity/Q5> .\n"
    b'<http://www.wikidata.org/entity/Q1> <http://www.w3.org/2000/01/rdf-schema#label> "one \\u00e9"@en .\n'
    b'<http://www.wikidata.org/entity/Q5> <http://schema.org/description> "a kind"@en .\n'
)
NOUN = (
    b"  1 This software and database is being provided\n"
    b"00001740 03 n 01 entity 0 001 ~ 00001930 n 0000 | that which exists\n"
    b'00001930 03 n 02 thing 0 object 1 001 @ 00001740 n 0000 | a thing; "quoted"\n'
)
INDEX = b"entity n 1 1 ~ 1 0 00001740\nthing n 1 1 @ 1 0 00001930\n"


# Whole fields replaced by extremes: counts and offsets are where readers trust their input.
TOKENS = [b"ffffffffffffffff", b"18446744073709551615", b"-1", b"0", b"99999999", b"", b"+1", b"1e308", b"nan"]
FIELD = re.compile(rb"[^\s,|]+")


def mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(data))
        kind = rng.randrange(6)
        fields = list(FIELD.finditer(data)) if kind == 5 else []
        if fields:
            f = rng.choice(fields)
            data[f.start() : f.end()] = rng.choice(TOKENS)
            continue
        if kind == 0 and data:
            data[min(at, len(data) - 1)] = rng.randrange(256)
        elif kind == 1:
            data[at:at] = rng.choice(SPECIAL)
        elif kind == 2:
            del data[at : at + rng.randint(1, 8)]
        elif kind == 3:
            data[at:at] = data[max(0, at - 16) : at]
        else:
            data = data[:at]
    return bytes(data)


def survives(build, *, damaged: bool = False) -> None:
    """Runs `build`; the graph it makes must verify (unless its files were `damaged`:
    then verify may say so) and answer reads and searches without crashing."""
    try:
        g = build()
    except KaleError:
        return
    try:
        g.verify()
    except KaleError:
        if not damaged:
            raise
    try:
        for n in range(min(g.node_count, 8)):
            g.neighbours(n, "both"), g.label(n), g.aliases(n), g.id(n)
        if g.node_count > 1:
            g.paths(0, g.node_count - 1, max_hops=3)
    except KaleError:
        if not damaged:
            raise


def fuzz(tmp_path, make_input, build, *, damaged=False):
    rng = random.Random(0)
    deadline, runs = time.monotonic() + SECONDS, 0
    while time.monotonic() < deadline:
        case = tmp_path / f"case{runs % 4}"
        case.mkdir(exist_ok=True)
        make_input(case, rng)
        on_error = rng.choice(["fail", "skip"])
        survives(lambda case=case, on_error=on_error: build(case, on_error), damaged=damaged)
        runs += 1
    assert runs > 20


@pytest.mark.parametrize("name, seed", [("t.tsv", TSV), ("t.csv", CSV)])
def test_fuzz_delimited(tmp_path, name, seed):
    def make(case, rng):
        (case / name).write_bytes(mutate(seed, rng))
        (case / "labels.tsv").write_bytes(mutate(b"a\tthe a\nb\tbee\n", rng))

    fuzz(
        tmp_path,
        make,
        lambda case, on_error: Graph.build(
            case / "g.kg",
            triples=case / name,
            labels=case / "labels.tsv",
            progress=False,
            overwrite=True,
            on_error=on_error,
        ),
    )


def test_fuzz_ntriples(tmp_path):
    fuzz(
        tmp_path,
        lambda case, rng: (case / "t.nt").write_bytes(mutate(NT, rng)),
        lambda case, on_error: Graph.build(
            case / "g.kg", ntriples=case / "t.nt", progress=False, overwrite=True, on_error=on_error
        ),
    )


def test_fuzz_wordnet(tmp_path):
    def make(case, rng):
        wn = case / "wn"
        wn.mkdir(exist_ok=True)
        for part in ("verb", "adj", "adv"):
            (wn / f"data.{part}").write_bytes(b"")
        (wn / "data.noun").write_bytes(mutate(NOUN, rng))
        (wn / "index.noun").write_bytes(mutate(INDEX, rng))

    fuzz(
        tmp_path,
        make,
        lambda case, on_error: Graph.build(
            case / "g.kg", wordnet=case / "wn", progress=False, overwrite=True, on_error=on_error
        ),
    )


def test_fuzz_opening_a_graph(tmp_path):
    src = tmp_path / "t.tsv"
    src.write_text("".join(f"Q{i}\tP{i % 3}\tQ{(i * 7) % 30}\n" for i in range(90)), encoding="utf-8")
    (tmp_path / "l.tsv").write_text("".join(f"Q{i}\tnode {i}\n" for i in range(30)), encoding="utf-8")
    built = Graph.build(tmp_path / "g.kg", triples=src, labels=tmp_path / "l.tsv", progress=False).path
    files = {f.name: f.read_bytes() for f in built.iterdir()}

    def make(case, rng):
        g = case / "g.kg"
        g.mkdir(exist_ok=True)
        victim = rng.choice(sorted(files))
        for name, data in files.items():
            (g / name).write_bytes(mutate(data, rng) if name == victim else data)

    fuzz(tmp_path, make, lambda case, on_error: Graph.open(case / "g.kg"), damaged=True)
