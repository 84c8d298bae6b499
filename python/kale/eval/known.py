"""The known&incorrect probe (paper §5, Figure 3).

A question counts as *known* when the model verifies the facts on its KG paths: for each
fact (head, relation, tail) the model scores the true tail against tails taken from other
questions' facts, by likelihood of "head relation" -> " tail"; it knows the fact when the true
tail scores highest, and the question when every fact of at least one path is known. Among
known questions, the share answered wrongly is the known&incorrect rate.
docs/evaluation.md explains the choices and their limits.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from pathlib import Path

from kale.eval.scoring import score_choice_groups
from kale.eval.stats import metric
from kale.exceptions import InputError, KaleFileNotFoundError, KaleValueError

Fact = tuple[str, str, str]
CATEGORIES = ("known&correct", "known&incorrect", "unknown&correct", "unknown&incorrect", "no_facts")
_KEYS = (
    ("head", "relation", "tail"),
    ("h", "r", "t"),
    ("subject", "predicate", "object"),
    ("head_label", "relation_label", "tail_label"),
)


def _as_fact(item: object) -> Fact | None:
    if isinstance(item, Mapping):
        for keys in _KEYS:
            if all(k in item for k in keys):
                return tuple(str(item[k]) for k in keys)  # type: ignore[return-value]
        return None
    if (
        isinstance(item, (list, tuple))
        and len(item) == 3
        and all(isinstance(x, str) for x in item)
        and not any("→" in x or "←" in x for x in item)
    ):  # three verbalised paths are not a triple
        return (item[0], item[1], item[2])
    return None


# synthesis verbalises a path as "the Sun –emits→ light ←part of– white light"
_EDGE = re.compile(r"\s+(?:–(.+?)→|←(.+?)–)\s+")


def parse_verbalised_path(text: str, where: str = "facts") -> list[Fact]:
    """Triples of one verbalised path; "B ←r– C" is the edge C –r→ B."""
    parts = _EDGE.split(text.strip())
    if len(parts) < 4:
        raise InputError(f"{where}: {text!r:.80} is not a verbalised path ('head –relation→ tail ...')")
    facts = []
    for i in range(0, len(parts) - 3, 3):
        left, forward, backward, right = parts[i], parts[i + 1], parts[i + 2], parts[i + 3]
        facts.append((left, forward, right) if forward is not None else (right, backward, left))
    return facts


def normalise_paths(value: object, where: str = "facts") -> list[list[Fact]]:
    """The paths of one question. Each verbalised path (synthesis's `paths_text`) or list of
    triples is one path; triples given loose ((h, r, t) or {head, relation, tail}) together
    form one path, all of whose facts the question needs."""
    if value is None:
        return []
    if isinstance(value, str) or _as_fact(value) is not None:
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise InputError(f"{where}: {value!r:.80} is not a list of facts or paths")
    loose: list[Fact] = []
    paths: list[list[Fact]] = []
    for item in value:
        fact = _as_fact(item)
        if fact is not None:
            loose.append(fact)
        elif isinstance(item, str):
            paths.append(parse_verbalised_path(item, where))
        elif isinstance(item, (list, tuple)):
            flat: list[Fact] = []
            for sub in item:
                sub_fact = _as_fact(sub)
                if sub_fact is None:
                    raise InputError(
                        f"{where}: {sub!r:.80} is not a (head, relation, tail) triple or a "
                        "{head, relation, tail} mapping"
                    )
                flat.append(sub_fact)
            paths.append(flat)
        elif item is not None:
            raise InputError(
                f"{where}: {item!r:.80} is not a (head, relation, tail) triple, a "
                "{head, relation, tail} mapping, a verbalised path or a list of them"
            )
    if loose:
        paths.insert(0, loose)
    unique = list(dict.fromkeys(tuple(dict.fromkeys(p)) for p in paths if p))
    return [list(p) for p in unique]


def normalise_facts(value: object, where: str = "facts") -> list[Fact]:
    """All facts of one question, flattened over its paths and de-duplicated in order."""
    return list(dict.fromkeys(f for path in normalise_paths(value, where) for f in path))


def load_facts(source, id_column: str = "id", facts_column: str = "facts") -> dict[str, list[Fact]]:
    """Facts per question id, flattened over paths (see `load_fact_paths` for the sources)."""
    return {
        qid: list(dict.fromkeys(f for p in paths for f in p))
        for qid, paths in load_fact_paths(source, id_column, facts_column).items()
    }


def load_fact_paths(source, id_column: str = "id", facts_column: str = "facts") -> dict[str, list[list[Fact]]]:
    """Paths per question id from a dict, a polars DataFrame, a Parquet/JSONL/JSON file, or a
    `kale synth` output folder (its `paths_text` column)."""
    if isinstance(source, Mapping):
        return {str(k): normalise_paths(v, f"facts of {k}") for k, v in source.items()}
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise KaleFileNotFoundError(f"{path}: no such facts file (Parquet, JSONL or JSON)")
        if path.is_dir():  # a synthesis output folder of Parquet parts
            import polars as pl

            parts = sorted(path.glob("*.parquet"))
            if not parts:
                raise KaleFileNotFoundError(f"{path}: no .parquet files inside (expected kale synth output)")
            rows, where = pl.concat([pl.read_parquet(p) for p in parts], how="diagonal_relaxed").to_dicts(), str(path)
        elif path.suffix == ".json":
            import json

            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, Mapping):
                return load_fact_paths(data)
            rows, where = data, str(path)
        else:
            from kale.data.tabular import read_rows

            rows, where = read_rows(path), str(path)
    else:  # a polars DataFrame
        rows, where = source.to_dicts(), "<dataframe>"
    if rows and facts_column not in rows[0] and "paths_text" in rows[0]:
        facts_column = "paths_text"  # kale synth output: the verbalised KG paths
    if rows and (id_column not in rows[0] or facts_column not in rows[0]):
        raise InputError(f"{where}: needs columns {id_column!r} and {facts_column!r}; found {sorted(rows[0])}")
    out: dict[str, list[list[Fact]]] = {}
    for i, row in enumerate(rows, 1):
        existing = out.setdefault(str(row[id_column]), [])
        existing.extend(p for p in normalise_paths(row[facts_column], f"{where}: row {i}") if p not in existing)
    return out


def corrupt_tails(
    facts_by_id: Mapping[str, list[Fact]], n_distractors: int, seed: int = 0
) -> dict[tuple[str, int], list[str]]:
    """Distractor tails per (question id, fact index), drawn from *other* questions' facts.

    Tails that are true for the same (head, relation) anywhere in the input are excluded, so
    a distractor is never a correct answer the input itself knows about."""
    true_tails: dict[tuple[str, str], set[str]] = {}
    owners: dict[str, set[str]] = {}
    surface: dict[str, str] = {}
    for qid, facts in facts_by_id.items():
        for h, r, t in facts:
            true_tails.setdefault((h.casefold(), r.casefold()), set()).add(t.casefold())
            owners.setdefault(t.casefold(), set()).add(qid)
            surface.setdefault(t.casefold(), t)
    pool = sorted(surface)
    rng = random.Random(seed)
    out = {}
    for qid in sorted(facts_by_id):
        for j, (h, r, _t) in enumerate(facts_by_id[qid]):
            banned = true_tails[(h.casefold(), r.casefold())]
            ok = lambda k: k not in banned and owners[k] != {qid}  # noqa: E731, B023  used in this iteration only
            picked: list[str] = []
            for _ in range(20 * n_distractors):  # rejection sampling: the pool can be 10^5 tails
                k = pool[rng.randrange(len(pool))]
                if ok(k) and k not in picked:
                    picked.append(k)
                    if len(picked) == n_distractors:
                        break
            if len(picked) < n_distractors:  # a small or crowded pool: fall back to a full scan
                rest = [k for k in pool if ok(k) and k not in picked]
                picked += rng.sample(rest, min(n_distractors - len(picked), len(rest)))
            out[(qid, j)] = [surface[k] for k in picked]
    return out


def verbalise(fact: Fact) -> tuple[str, str]:
    """(context, continuation): "head relation" and " tail"; KG relation ids use underscores."""
    h, r, t = fact
    return f"{h} {r.replace('_', ' ')}", f" {t}"


def fact_is_known(true_score: float, distractor_scores: list[float]) -> bool:
    """Known when the true tail beats every distractor (strictly: ties are not knowledge)."""
    return bool(distractor_scores) and all(true_score > d for d in distractor_scores)


def question_is_known(path_flags: list[list[bool]], min_fraction: float = 1.0) -> bool | None:
    """Known when some path has at least `min_fraction` of its checkable facts known (by
    default: one whole chain from question to answer verified); None when nothing could be
    checked. A path is a list of per-fact flags; facts that could not be checked are omitted."""
    checkable = [p for p in path_flags if p]
    if not checkable:
        return None
    return any(sum(p) / len(p) >= min_fraction for p in checkable)


def check_facts(
    model,
    tokenizer,
    paths_by_id: Mapping[str, object],
    n_distractors: int = 3,
    normalise: str = "chars",
    min_fraction: float = 1.0,
    seed: int = 0,
    batch_size: int = 8,
) -> dict[str, dict]:
    """Per question: {"known": bool | None, "facts": [{fact, distractors, scores, known}]}.

    `paths_by_id` maps ids to anything `normalise_paths` reads (a list of triples is one path)."""
    if normalise not in ("sum", "chars", "tokens"):
        raise KaleValueError(f"normalise must be one of sum, chars, tokens; got {normalise!r}")
    paths_by_id = {qid: normalise_paths(v, f"facts of {qid}") for qid, v in paths_by_id.items()}
    facts_by_id = {qid: list(dict.fromkeys(f for p in paths for f in p)) for qid, paths in paths_by_id.items()}
    distractors = corrupt_tails(facts_by_id, n_distractors, seed)
    groups, index = [], []
    for qid, facts in facts_by_id.items():
        for j, fact in enumerate(facts):
            if not distractors[(qid, j)]:
                continue  # nothing to compare against: the fact cannot be checked
            context = verbalise(fact)[0]
            groups.append((context, [verbalise((fact[0], fact[1], t))[1] for t in [fact[2], *distractors[(qid, j)]]]))
            index.append((qid, j))
    scores = score_choice_groups(model, tokenizer, groups, batch_size) if groups else []
    checked: dict[str, list[dict]] = {qid: [] for qid in facts_by_id}
    for (qid, j), chunk, (_, conts) in zip(index, scores, groups):
        norm = [
            s.logprob / (len(c.strip()) if normalise == "chars" else s.n_tokens if normalise == "tokens" else 1)
            for s, c in zip(chunk, conts)
        ]
        checked[qid].append(
            {
                "fact": list(facts_by_id[qid][j]),
                "distractors": distractors[(qid, j)],
                "scores": norm,
                "known": fact_is_known(norm[0], norm[1:]),
            }
        )
    out = {}
    for qid, fs in checked.items():
        flags = {tuple(f["fact"]): f["known"] for f in fs}
        path_flags = [[flags[f] for f in path if f in flags] for path in paths_by_id[qid]]
        out[qid] = {"known": question_is_known(path_flags, min_fraction), "facts": fs}
    return out


def category(correct: bool, known: bool | None) -> str:
    if known is None:
        return "no_facts"
    return f"{'known' if known else 'unknown'}&{'correct' if correct else 'incorrect'}"


def summarise(
    correct_by_id: Mapping[str, bool], known_by_id: Mapping[str, bool | None], n_resamples: int = 1000, seed: int = 0
) -> dict:
    """Counts per category and the known&incorrect rate = known&incorrect / known questions."""
    cats = {qid: category(correct_by_id[qid], known_by_id.get(qid)) for qid in correct_by_id}
    counts = {c: sum(1 for v in cats.values() if v == c) for c in CATEGORIES}
    known_flags = [v == "known&incorrect" for v in cats.values() if v.startswith("known&")]
    checked = len(cats) - counts["no_facts"]
    return {
        "counts": counts,
        "n_checked": checked,
        "known_incorrect_rate": metric(known_flags, n_resamples, seed),  # the paper's Figure 3 number
        "shares": {
            "known&correct": counts["known&correct"] / checked if checked else float("nan"),
            "known&incorrect": counts["known&incorrect"] / checked if checked else float("nan"),
            "unknown": (counts["unknown&correct"] + counts["unknown&incorrect"]) / checked if checked else float("nan"),
        },
        "categories": cats,
    }


def probe_benchmark(model, tokenizer, bench_result: dict, facts_by_id: Mapping[str, object], **kw) -> dict:
    """Run the fact check for the questions of one benchmark result and annotate its records."""
    ids = {r["id"] for r in bench_result["questions"]}
    paths = {qid: p for qid, p in load_fact_paths(dict(facts_by_id)).items() if qid in ids and p}
    checks = check_facts(model, tokenizer, paths, **kw)
    known = {qid: c["known"] for qid, c in checks.items()}
    summary = summarise({r["id"]: bool(r["correct"]) for r in bench_result["questions"]}, known)
    for r in bench_result["questions"]:
        r["known"] = known.get(r["id"])
        r["category"] = summary["categories"][r["id"]]
        if r["id"] in checks:
            r["fact_check"] = checks[r["id"]]["facts"]
    del summary["categories"]
    bench_result["known"] = summary
    return summary
