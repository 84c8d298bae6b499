"""`kale link --file`: texts longer than an argument can be (1 MB fails with "Argument
list too long"), from a file or standard input, linked a batch of lines at a time."""

import json

import pytest
from click.testing import CliRunner

from kale import Graph
from kale.cli import main


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    d = tmp_path_factory.mktemp("g")
    (d / "t.tsv").write_text("dog\tis a\tanimal\ncat\tis a\tanimal\n", encoding="utf-8")
    (d / "labels.tsv").write_text("dog\tdog\ncat\tcat\nanimal\tanimal\n", encoding="utf-8")
    return Graph.build(d / "g.kg", triples=d / "t.tsv", labels=d / "labels.tsv", progress=False)


def link(*args, stdin=None):
    return CliRunner().invoke(main, ["link", *map(str, args)], input=stdin, catch_exceptions=False)


def test_file_and_stdin_give_the_offsets_of_the_whole_text(graph, tmp_path):
    text = "".join(f"line {i}: the dög and the cat, an animal\n" if i % 7 else "nothing here\n" for i in range(2500))
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    whole = link(graph.path, text[:4000], "--json")
    expected = json.loads(whole.output[whole.output.index("{") :])["T"]
    streamed = link(graph.path, "--file", tmp_path / "t.txt", "--json")
    assert streamed.exit_code == 0, streamed.output
    mentions = [json.loads(line) for line in streamed.output.splitlines() if line.startswith("{")]
    assert mentions[: len(expected) - 1] == expected[:-1]  # the cut at 4000 may split the last
    assert len(mentions) == 2 * sum(1 for i in range(2500) if i % 7)  # cat and animal ("dög" is not "dog")
    assert all(text[m["start"] : m["end"]] == m["mention"] for m in mentions)
    piped = link(graph.path, "--file", "-", "--json", stdin=text)
    assert [line for line in piped.output.splitlines() if line.startswith("{")] == [
        line for line in streamed.output.splitlines() if line.startswith("{")
    ]


def test_text_or_file_not_both(graph, tmp_path):
    (tmp_path / "t.txt").write_text("dog", encoding="utf-8")
    for args in ([], ["dog", "--file", tmp_path / "t.txt"], ["--file", tmp_path / "t.txt", "--answer", "cat"]):
        r = link(graph.path, *args)
        assert r.exit_code == 2 and "Error:" in r.output and "Traceback" not in r.output
