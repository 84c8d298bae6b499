"""`kale report RUN...`: runs side by side, as the paper's Table 1 (accuracy per benchmark)
and Figure 3 (known&incorrect rate), in Markdown and a self-contained HTML page."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from kale.eval.runner import read_results
from kale.exceptions import KaleValueError

# the paper's column order; other benchmarks follow alphabetically
PAPER_ORDER = ["absr", "arc_challenge", "arc_easy", "csqa", "mmlu", "bbh", "race_h", "race_m", "obqa"]
LABELS = {
    "absr": "AbsR",
    "arc_challenge": "ARC-c",
    "arc_easy": "ARC-e",
    "csqa": "CSQA",
    "mmlu": "MMLU",
    "bbh": "BBH",
    "race_h": "RACE-h",
    "race_m": "RACE-m",
    "obqa": "OBQA",
}


def _label(name: str) -> str:
    return LABELS.get(name, name)


def _bench_order(runs: list[dict]) -> list[str]:
    names = {b for r in runs for b in r["benchmarks"]}
    return [b for b in PAPER_ORDER if b in names] + sorted(names - set(PAPER_ORDER))


def _metric(bench: dict, name: str) -> tuple[str, dict] | None:
    metrics = bench.get("metrics", {})
    key = name if name in metrics else bench.get("primary")
    return (key, metrics[key]) if key in metrics else None


def _fmt(m: dict | None) -> str:
    if not m or m.get("value") is None or (isinstance(m["value"], float) and math.isnan(m["value"])):
        return "–"
    lo, hi = m.get("ci95", [math.nan, math.nan])
    return f"{100 * m['value']:.2f} [{100 * lo:.1f}, {100 * hi:.1f}]"


def accuracy_table(runs: list[dict], metric: str) -> tuple[list[str], list[list[str]]]:
    benches = _bench_order(runs)
    header = ["run", *(_label(b) for b in benches)]
    rows = []
    for r in runs:
        cells = [r["run"]]
        for b in benches:
            found = _metric(r["benchmarks"][b], metric) if b in r["benchmarks"] else None
            if found is None:
                cells.append("–")
                continue
            key, m = found
            # a benchmark without the requested metric shows its primary one, labelled
            cells.append(_fmt(m) + (f" ({key})" if metric != "primary" and key != metric else ""))
        if len(benches) > 1:  # the paper's headline is the average over benchmarks
            found = [_metric(r["benchmarks"][b], metric) for b in benches if b in r["benchmarks"]]
            values = [f[1]["value"] for f in found if f]
            complete = len(values) == len(benches)
            cells.append(
                f"{100 * sum(values) / len(values):.2f}" + ("" if complete else " (partial)") if values else "–"
            )
        rows.append(cells)
    if len(benches) > 1:
        header.append("mean")
    return header, rows


def paired_table(runs: list[dict]) -> tuple[list[str], list[list[str]]]:
    """Each run against the first (the base model, in kale run) on the questions both
    answered, matched by id: the accuracy difference in points with its paired bootstrap
    interval, the exact McNemar p-value, and how many questions were paired."""
    from kale.eval.stats import paired_difference

    benches = _bench_order(runs)
    header = ["run", *(f"{_label(b)}: Δ vs {runs[0]['run']}" for b in benches)]
    rows = []

    def correct(r: dict, b: str) -> dict:
        return {q["id"]: bool(q["correct"]) for q in r["benchmarks"].get(b, {}).get("questions", []) if "id" in q}

    for r in runs[1:]:
        cells = [r["run"]]
        for b in benches:
            base, this = correct(runs[0], b), correct(r, b)
            common = [i for i in base if i in this]
            if not common:
                cells.append("no common questions" if base and this else "–")
                continue
            d = paired_difference([base[i] for i in common], [this[i] for i in common])
            lo, hi = d["ci95"]
            cells.append(
                f"{100 * d['diff']:+.2f} [{100 * lo:+.1f}, {100 * hi:+.1f}] p={d['mcnemar_p']:.3g} "
                f"(n={d['n']}{'' if len(common) == len(base) == len(this) else ' common'})"
            )
        rows.append(cells)
    return header, rows


def known_table(runs: list[dict]) -> tuple[list[str], list[list[str]]]:
    header = ["run", "benchmark", "known&correct", "known&incorrect", "unknown", "no facts", "known&incorrect rate"]
    rows = []
    for r in runs:
        for b in _bench_order([r]):
            k = r["benchmarks"][b].get("known")
            if not k or not k.get("n_checked"):  # no question of this benchmark had facts
                continue
            c = k["counts"]
            rows.append(
                [
                    r["run"],
                    _label(b),
                    str(c["known&correct"]),
                    str(c["known&incorrect"]),
                    str(c["unknown&correct"] + c["unknown&incorrect"]),
                    str(c["no_facts"]),
                    _fmt(k["known_incorrect_rate"]),
                ]
            )
    return header, rows


def _bar_chart(path: Path, groups: list[str], series: dict[str, list[dict | None]], ylabel: str, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")  # no display on servers
    import matplotlib.pyplot as plt

    n = max(1, len(series))
    width = 0.8 / n
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(groups) * max(1, n / 2)), 3.8))
    for i, (run, values) in enumerate(series.items()):
        xs, ys, err = [], [], [[], []]
        for g, m in enumerate(values):
            if m is None or m.get("value") is None or math.isnan(m["value"]):
                continue
            xs.append(g - 0.4 + width * (i + 0.5))
            ys.append(100 * m["value"])
            lo, hi = m.get("ci95", [m["value"], m["value"]])
            err[0].append(max(0.0, 100 * (m["value"] - lo)))
            err[1].append(max(0.0, 100 * (hi - m["value"])))
        ax.bar(xs, ys, width, yerr=err, capsize=3, label=run)
    ax.set_xticks(range(len(groups)), [_label(g) for g in groups])
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium", wrap=True)
    ax.set_ylim(0, 100)
    ax.legend(fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def _html_table(header: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_report(run_paths: list[str | Path], out_dir: str | Path, metric: str = "primary") -> dict[str, Path]:
    """Write report.md, report.html, accuracy.png and (when any run has a fact check)
    known_incorrect.png into out_dir; returns their paths."""
    if not run_paths:
        raise KaleValueError("kale report needs at least one run folder or results.json")
    runs = [read_results(p) for p in run_paths]
    names = [r["run"] for r in runs]
    for i, name in enumerate(names):  # two runs named alike would share a legend entry
        if names.count(name) > 1:
            runs[i]["run"] = f"{name} ({i + 1})"
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    benches = _bench_order(runs)
    files = {"accuracy.png": out / "accuracy.png"}
    acc_series = {}
    for r in runs:
        found = [_metric(r["benchmarks"][b], metric) if b in r["benchmarks"] else None for b in benches]
        acc_series[r["run"]] = [f[1] if f else None for f in found]
    _bar_chart(
        files["accuracy.png"],
        benches,
        acc_series,
        "accuracy (%)",
        f"Accuracy per benchmark ({metric}), 95% bootstrap CI",
    )
    kheader, krows = known_table(runs)
    if krows:
        files["known_incorrect.png"] = out / "known_incorrect.png"
        kbenches = [
            b for b in benches if any(r["benchmarks"].get(b, {}).get("known", {}).get("n_checked") for r in runs)
        ]
        kseries = {
            r["run"]: [r["benchmarks"].get(b, {}).get("known", {}).get("known_incorrect_rate") for b in kbenches]
            for r in runs
        }
        _bar_chart(
            files["known_incorrect.png"],
            kbenches,
            kseries,
            "known&incorrect (%)",
            "Known questions answered wrongly, 95% bootstrap CI",
        )
    header, rows = accuracy_table(runs, metric)
    models = [
        [
            r["run"],
            str(r.get("model")),
            str(r.get("created")),
            ("chat template; " if r.get("config", {}).get("chat") else "")
            + ", ".join(
                f"{_label(b)}: {v.get('mode')} {v.get('shots', 0)}-shot n={v.get('n')}"
                for b, v in r["benchmarks"].items()
            ),
        ]
        for r in runs
    ]
    pheader, prows = paired_table(runs)
    md = [
        "# kale evaluation report",
        "",
        f"Accuracy in %, 95% bootstrap interval in brackets; metric: {metric}.",
        "",
        _markdown_table(header, rows),
        "",
        "![accuracy](accuracy.png)",
        "",
    ]
    if prows:
        md += [
            "## Paired differences",
            "",
            f"Each run minus {runs[0]['run']} on the same questions (matched by id), in points: "
            "paired bootstrap 95% interval, exact McNemar p-value (accuracy, `pred`).",
            "",
            _markdown_table(pheader, prows),
            "",
        ]
    if krows:
        md += [
            "## Known&incorrect",
            "",
            "A question is *known* when the model ranks every fact on its KG paths above corrupted "
            "versions; the rate is known&incorrect / known (docs/evaluation.md).",
            "",
            _markdown_table(kheader, krows),
            "",
            "![known&incorrect](known_incorrect.png)",
            "",
        ]
    md += ["## Runs", "", _markdown_table(["run", "model", "created", "settings"], models), ""]
    files["report.md"] = out / "report.md"
    files["report.md"].write_text("\n".join(md), encoding="utf-8")

    def img(p: Path) -> str:
        data = base64.b64encode(p.read_bytes()).decode()
        return f'<img alt="{p.stem}" src="data:image/png;base64,{data}">'

    page = [
        "<!doctype html><html><head><meta charset='utf-8'><title>kale report</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}"
        "img{max-width:100%}</style></head><body><h1>kale evaluation report</h1>",
        f"<p>Accuracy in %, 95% bootstrap interval in brackets; metric: {html.escape(metric)}.</p>",
        _html_table(header, rows),
        img(files["accuracy.png"]),
    ]
    if prows:
        page += [
            "<h2>Paired differences</h2>",
            f"<p>Each run minus {html.escape(runs[0]['run'])} on the same "
            "questions (matched by id): paired bootstrap 95% interval, exact McNemar p-value.</p>",
            _html_table(pheader, prows),
        ]
    if krows:
        page += ["<h2>Known&amp;incorrect</h2>", _html_table(kheader, krows), img(files["known_incorrect.png"])]
    page += ["<h2>Runs</h2>", _html_table(["run", "model", "created", "settings"], models), "</body></html>"]
    files["report.html"] = out / "report.html"
    files["report.html"].write_text("\n".join(page), encoding="utf-8")
    return files
