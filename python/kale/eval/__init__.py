"""Evaluation: multiple-choice log-likelihood and generative scoring, bootstrap intervals,
the known&incorrect probe, and side-by-side reports.

    from kale.eval import load_model, evaluate, EvalConfig
    model, tok = load_model("smollm2-135m-instruct")
    results = evaluate(model, tok, ["csqa"], EvalConfig(shots=0), limit=100)

torch and transformers are imported by the submodules that need them, not here.
"""

from __future__ import annotations

_LAZY = {
    "EvalConfig": "kale.eval.runner",
    "evaluate": "kale.eval.runner",
    "evaluate_questions": "kale.eval.runner",
    "write_results": "kale.eval.runner",
    "read_results": "kale.eval.runner",
    "results_document": "kale.eval.runner",
    "score_continuations": "kale.eval.scoring",
    "score_choice_groups": "kale.eval.scoring",
    "generate_texts": "kale.eval.scoring",
    "load_model": "kale.eval.models",
    "resolve_model": "kale.model_source",
    "bootstrap_ci": "kale.eval.stats",
    "build_prompt": "kale.eval.prompts",
    "check_facts": "kale.eval.known",
    "load_facts": "kale.eval.known",
    "load_fact_paths": "kale.eval.known",
    "normalise_paths": "kale.eval.known",
    "probe_benchmark": "kale.eval.known",
    "summarise": "kale.eval.known",
    "write_report": "kale.eval.report",
    "extract_answer": "kale.eval.generative",
    "exact_match": "kale.eval.generative",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kale.eval' has no attribute {name!r}")


__all__ = sorted(_LAZY)
