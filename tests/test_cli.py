"""The `kale` commands, run as a user would."""

import subprocess
import sys

import pytest
from click.testing import CliRunner

from kale.cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_build_info_show(tmp_path, shared_dir):
    codex = shared_dir / "data" / "codex-m"
    out = tmp_path / "codex.kg"
    r = run("kg", "build", out, "--triples", codex / "triples.tsv", "--relation-labels", codex / "relations.json", "-q")
    assert r.exit_code == 0, r.output
    assert "206,205" in r.output and "place of birth (P19)" in r.output
    r = run("kg", "info", out, "--verify")
    assert r.exit_code == 0 and "all arrays match" in r.output
    r = run("kg", "show", out, "Q30", "--relation", "P530", "--limit", "3")
    assert r.exit_code == 0, r.output
    assert "–diplomatic relation→" in r.output


def test_show_unknown_entity_is_one_clear_line(tmp_path, shared_dir):
    out = tmp_path / "codex.kg"
    run("kg", "build", out, "--triples", shared_dir / "data" / "codex-m" / "triples.tsv", "-q")
    r = run("kg", "show", out, "no such thing")
    assert r.exit_code == 1
    assert r.output.strip() == "Error: unknown entity 'no such thing': not an id, label or alias in this graph"


def test_bad_input_exits_with_file_and_line(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\n", encoding="utf-8")
    r = run("kg", "build", tmp_path / "g.kg", "--triples", bad, "-q")
    assert r.exit_code == 1
    assert "bad.tsv:1: expected 3 columns" in r.output and "Traceback" not in r.output


def test_generate_then_build(tmp_path):
    tsv = tmp_path / "wd.tsv.gz"
    r = run("kg", "generate", tsv, "--nodes", 2000, "--edges", 20000, "--seed", 1)
    assert r.exit_code == 0, r.output
    r = run("kg", "build", tmp_path / "wd.kg", "--triples", tsv, "-q")
    assert r.exit_code == 0, r.output
    from kale import Graph

    g = Graph.open(tmp_path / "wd.kg")
    degrees = g.degrees("in")
    assert degrees.max() > 20 * degrees.mean(), "hubs must dominate in-degree"
    assert g.relation_counts().argmax() == g.relation_index("P31")


def test_console_script_runs():
    r = subprocess.run([sys.executable, "-m", "kale", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "kg" in r.stdout


def test_paths_astar_with_and_without_the_targets_bound(wordnet_graph, tmp_path):
    """`kale paths --method astar`: the default bound and the paper's alone (--target-depth 0)
    find paths of the same lengths, the default with fewer expansions."""
    graph = wordnet_graph.path
    lines = {}
    for depth in (None, 0):
        extra = [] if depth is None else ["--target-depth", depth]
        r = CliRunner().invoke(
            main,
            [str(a) for a in ("paths", graph, "dog.n.01", "cat.n.01", "--method", "astar", "--max-hops", 4, *extra)],
        )
        assert r.exit_code == 0, r.output
        paths = [line for line in r.stdout.splitlines() if "–" in line]
        assert paths and all(line.split()[0].isdigit() for line in paths)
        lines[depth] = (
            [int(line.split()[0]) for line in paths],
            int(r.stderr.split("path(s), ")[1].split()[0].replace(",", "")),
        )
    assert lines[None][0] == lines[0][0]
    assert lines[None][1] < lines[0][1]
    r = CliRunner().invoke(
        main, ["paths", str(graph), "dog.n.01", "cat.n.01", "--method", "astar", "--target-depth", "-1"]
    )
    assert r.exit_code == 2 and "--target-depth" in r.output


def _commands(group):
    for command in group.commands.values():
        if hasattr(command, "commands"):
            yield from _commands(command)
        else:
            yield command


def test_every_command_has_the_one_error_policy():
    from kale.cli.errors import friendly_errors

    policy = friendly_errors(lambda: None).__code__
    names = [c.name for c in _commands(main)]
    assert {"train", "diagnose", "eval", "report", "synth", "run", "paths", "link", "build", "show"} <= set(names)
    assert [c.name for c in _commands(main) if c.callback.__code__ is not policy] == []


@pytest.mark.parametrize(
    "args, says",
    [
        (["train", "--data", "r.parquet", "--model", "m", "--set", "mode=nope"], "config field 'mode'"),
        (["diagnose", "--data", "r.parquet", "--model", "m", "--set", "mode=sft"], "no q branch"),
        (["eval", "--model", "/no/such/model", "--bench", "csqa", "--out", "{tmp}/e"], "no such file or folder"),
        (["paths", "/no/such.kg", "a", "b"], "no graph directory here"),
        (["link", "/no/such.kg", "a text"], "no graph directory here"),
        (["synth", "--graph", "/no/such.kg", "--data", "csqa", "--out", "{tmp}/s"], "no graph directory here"),
        (["run", "--set", "nonsense=1", "--dry-run"], "unknown config key 'nonsense'"),
    ],
)
def test_user_errors_exit_1_in_one_line_everywhere(tmp_path, args, says):
    r = CliRunner().invoke(main, [a.format(tmp=tmp_path) for a in args])
    assert r.exit_code == 1, r.output
    assert r.output.startswith("Error: ") and says in r.output and "Traceback" not in r.output
