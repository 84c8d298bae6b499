"""Fork safety: a child forked before or after kale used its threads (a DataLoader
worker, multiprocessing's default start on Linux) gets answers, not a hang.

The forks run in a fresh interpreter, so pytest's own threads are not forked; a child
that hangs is killed after a deadline and reported as hung."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import json, os, sys, time, warnings
    from kale import Graph
    from kale.link import Linker

    g = Graph.open(sys.argv[1])

    def work():
        linker = Linker.build(g)
        queries = [("apple", "dates"), ("bread", "flour"), ("cheese", ["eggs", "grapes"])] * 3
        return {
            "paths": [[list(p.nodes) for p in r] for r in g.paths_batch(queries)],
            "threads": [len(r) for r in g.paths_batch(queries, threads=2, method="k_shortest")],
            "link": [[m.mention for m in ms] for ms in linker.link_batch(["bread with cheese", "honey"] * 4)],
            "link_threads": [len(ms) for ms in linker.link_batch(["bread with cheese"] * 4, threads=2)],
        }

    def in_child(then=None):
        # what the child saw, as JSON through a pipe; "hung" if it did not finish in time
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            with warnings.catch_warnings(record=True) as seen:
                warnings.simplefilter("always")
                out = {"result": work(), "again": work()}
                if then:
                    out["grandchild"] = then()
            out["warnings"] = [str(x.message) for x in seen]
            os.write(w, json.dumps(out).encode())
            os._exit(0)
        os.close(w)
        deadline = time.time() + 30
        while time.time() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                with os.fdopen(r) as f:
                    return {**json.loads(f.read() or "{}"), "status": status}
            time.sleep(0.05)
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        return "hung"

    before = in_child()
    parent = work()
    after = in_child(then=in_child)
    print(json.dumps({"before": before, "parent": parent, "after": after}))
    """
)


def test_paths_batch_and_link_batch_in_forked_children(tmp_path):
    from kale import Graph

    words = "apple bread cheese dates eggs flour grapes honey".split()
    (tmp_path / "t.tsv").write_text("".join(f"{a}\tnext\t{b}\n" for a, b in zip(words, words[1:])), encoding="utf-8")
    (tmp_path / "labels.tsv").write_text("".join(f"{w}\t{w}\n" for w in words), encoding="utf-8")
    graph = Graph.build(tmp_path / "g.kg", triples=tmp_path / "t.tsv", labels=tmp_path / "labels.tsv", progress=False)
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(graph.path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    parent = seen["parent"]
    assert parent["paths"][0] == [[0, 1, 2, 3]] and parent["link"][0] == ["bread", "cheese"]

    before = seen["before"]
    assert before != "hung", "a child forked before any use hung"
    assert before["status"] == 0 and before["result"] == before["again"] == parent
    assert before["warnings"] == [], "nothing was used before this fork: nothing to warn of"

    after = seen["after"]
    assert after != "hung", "a child forked after the parent used its threads hung"
    assert after["status"] == 0 and after["result"] == after["again"] == parent
    assert len(after["warnings"]) == 1 and "forked after kale had used its threads" in after["warnings"][0], (
        "warned once"
    )
    grandchild = after["grandchild"]
    assert grandchild != "hung", "a child of a forked child hung"
    assert grandchild["status"] == 0 and grandchild["result"] == parent
