"""Scoring on a tiny random Llama: hand-computed log-likelihoods, batching, acc vs acc_norm,
lettered scoring, generation, bootstrap intervals. Also the fixtures other eval tests import."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from kale.data import Question
from kale.eval.generative import exact_match, extract_answer
from kale.eval.prompts import build_prompt, canonical_mode
from kale.eval.runner import EvalConfig, evaluate_questions, predict_choice
from kale.eval.scoring import encode_pair, generate_texts, score_continuations
from kale.eval.stats import bootstrap_ci, metric
from kale.exceptions import KaleValueError

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def make_tokenizer():
    """A byte-level tokenizer (one token per byte): builds instantly, unlike the 17 s GGUF one."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        vocab[special] = len(vocab)
    core = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|endoftext|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tok.chat_template = CHATML
    return tok


def make_model(vocab_size: int, seed: int = 0, uniform: bool = False):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    cfg = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        tie_word_embeddings=False,
    )
    model = LlamaForCausalLM(cfg).eval()
    if uniform:  # zero output layer: every next-token distribution is uniform, log p = -log V
        with torch.no_grad():
            model.lm_head.weight.zero_()
    return model


@pytest.fixture(scope="module")
def tok():
    return make_tokenizer()


@pytest.fixture(scope="module")
def model(tok):
    return make_model(len(tok))


REQUESTS = [
    ("Question: Where is Paris?\nAnswer:", " France"),
    ("Question: Where is Paris?\nAnswer:", " the United Kingdom"),
    ("Q: 2+2?\nA: ", "4"),  # trailing space moves into the continuation
    ("", " hello"),
]  # an empty context starts from BOS


def hand_logprob(model, tok, context, continuation):
    ctx, cont = encode_pair(tok, context, continuation)
    with torch.no_grad():
        logits = model(torch.tensor([ctx + cont])).logits[0].double()
    logp = torch.log_softmax(logits, -1)
    return sum(logp[len(ctx) - 1 + i, t].item() for i, t in enumerate(cont)), len(cont)


def test_scores_equal_a_hand_computed_forward_pass(model, tok):
    scores = score_continuations(model, tok, REQUESTS, batch_size=3)
    for (context, continuation), s in zip(REQUESTS, scores):
        expected, n = hand_logprob(model, tok, context, continuation)
        assert s.n_tokens == n
        assert s.logprob == pytest.approx(expected, abs=1e-4)


def test_tokenisation_follows_lm_eval(tok):
    ctx, cont = encode_pair(tok, "Q: 2+2?\nA: ", "4")
    assert tok.decode(cont) == " 4" and tok.decode(ctx) == "Q: 2+2?\nA:"
    ctx, _ = encode_pair(tok, "", " hi")
    assert ctx == [tok.bos_token_id]


def test_batching_and_padding_do_not_change_scores(model, tok):
    alone = [score_continuations(model, tok, [r], batch_size=1)[0].logprob for r in REQUESTS]
    batched = [s.logprob for s in score_continuations(model, tok, REQUESTS * 2, batch_size=5)]
    assert batched == pytest.approx(alone * 2, abs=1e-4)


def test_acc_and_acc_norm_disagree_on_a_constructed_case(tok):
    # uniform model: log p(answer) = -(tokens) log V, one token per byte plus the leading space
    model = make_model(len(tok), uniform=True)
    q = Question("q", "Pick one.", ["a", "aaaaaaaa"], 1, source="t")
    res = evaluate_questions(model, tok, [q], "choice", EvalConfig(n_resamples=50))
    rec = res["questions"][0]
    log_v = math.log(len(tok))
    assert rec["logprobs"] == pytest.approx([-2 * log_v, -9 * log_v], rel=1e-5)
    assert rec["pred"] == 0  # the sum favours the short answer
    assert rec["pred_norm"] == 1  # per character: -2 log V / 1 < -9 log V / 8
    assert res["metrics"]["acc"]["value"] == 0.0 and res["metrics"]["acc_norm"]["value"] == 1.0


def test_predict_choice_normalisations():
    out = predict_choice([-4.0, -6.0], n_chars=[2, 10], n_tokens=[1, 6])
    assert (out["pred"], out["pred_norm"], out["pred_per_token"]) == (0, 1, 1)


def test_lettered_scoring_scores_the_letter_after_the_options(model, tok):
    q = Question("q", "Sky colour?", ["blue", "red", "green"], 0, source="t")
    prompt = build_prompt(q, "lettered")
    assert prompt.context.endswith("A. blue\nB. red\nC. green\nAnswer:") and prompt.continuations == [" A", " B", " C"]
    res = evaluate_questions(model, tok, [q], "lettered", EvalConfig(n_resamples=50))
    expected = [hand_logprob(model, tok, prompt.context, c)[0] for c in prompt.continuations]
    assert res["questions"][0]["logprobs"] == pytest.approx(expected, abs=1e-4)
    assert set(res["metrics"]) == {"acc"}


def test_few_shot_and_chat_prompts(tok):
    shots = [Question(str(i), f"Q{i}?", ["yes", "no"], i % 2, source="t") for i in range(3)]
    q = Question("x", "Target?", ["yes", "no"], 0, source="t")
    plain = build_prompt(q, "choice", shots[:2])
    assert plain.context == "Question: Q0?\nAnswer: yes\n\nQuestion: Q1?\nAnswer: no\n\nQuestion: Target?\nAnswer:"
    chat = build_prompt(q, "choice", shots[:1], tokenizer=tok, chat=True)
    assert chat.context.endswith("<|im_start|>user\nQuestion: Target?\nAnswer:<|im_end|>\n<|im_start|>assistant\n")
    assert "<|im_start|>assistant\nyes<|im_end|>" in chat.context and chat.continuations == ["yes", "no"]


def test_unknown_mode_lists_accepted():
    with pytest.raises(KaleValueError, match="accepted: choice, lettered, generate"):
        canonical_mode("ppl")


def test_generation_and_exact_match(model, tok):
    texts = generate_texts(model, tok, ["Q: hi\nA:", "Q: a longer prompt here\nA:"], max_new_tokens=5, batch_size=2)
    alone = generate_texts(model, tok, ["Q: hi\nA:"], max_new_tokens=5, batch_size=1)
    assert texts[0] == alone[0] and all(isinstance(t, str) for t in texts)
    assert extract_answer("Let's think. So the answer is (B).") == "(B)"
    assert extract_answer("The answer is: valid.\nmore text") == "valid"
    assert extract_answer("False\n\nQ: next") == "False"
    assert exact_match("b", "(B)") and exact_match(" TRUE. ", "True") and not exact_match("(C)", "(B)")


def test_bbh_question_runs_generatively(model, tok):
    q = Question("b", "not ( True ) is", ["False"], 0, subject="boolean_expressions", source="bbh")
    res = evaluate_questions(model, tok, [q], "generate", EvalConfig(max_new_tokens=4, n_resamples=20))
    assert set(res["metrics"]) == {"exact_match"} and "output" in res["questions"][0]


def test_bootstrap_interval_sanity():
    values = [1] * 70 + [0] * 30
    lo, hi = bootstrap_ci(values, n_resamples=2000, seed=0)
    assert lo < 0.7 < hi and 0.05 < hi - lo < 0.25  # ~ 2 * 1.96 * sqrt(.21/100) = 0.18
    assert bootstrap_ci(values, seed=0) == bootstrap_ci(values, seed=0)
    assert bootstrap_ci([1] * 10) == (1.0, 1.0)
    m = metric([True, False, True, True])
    assert m["value"] == 0.75 and m["n"] == 4
    assert all(math.isnan(v) for v in bootstrap_ci([]))


def test_shared_context_scoring_equals_one_pass_per_pair(model, tok):
    from kale.eval.scoring import score_choice_groups

    groups = [
        ("Question: Where is Paris?\nAnswer:", [" France", " the United Kingdom", " x"]),
        ("Q: 2+2?\nA: ", ["4", "five", "22"]),
        ("A much longer context so that padding is needed here:", [" a", " b"]),
        ("", [" hello", " hi"]),
    ]
    grouped = score_choice_groups(model, tok, groups, batch_size=3)
    for (context, conts), scores in zip(groups, grouped):
        for c, s in zip(conts, scores):
            expected, n = hand_logprob(model, tok, context, c)
            assert s.n_tokens == n and s.logprob == pytest.approx(expected, abs=1e-4)


def test_acc_norm_mode_makes_acc_norm_the_primary_metric(model, tok):
    q = Question("q", "Pick one.", ["a", "bb"], 0, source="t")
    assert evaluate_questions(model, tok, [q], "acc_norm", EvalConfig(n_resamples=20))["primary"] == "acc_norm"
    assert evaluate_questions(model, tok, [q], "choice", EvalConfig(n_resamples=20))["primary"] == "acc"


@given(
    n=st.integers(0, 30),
    k=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
    dup=st.integers(0, 29),
    which=st.integers(0, 29),
)
def test_shot_picker_is_the_seeded_shuffle_minus_the_question(n, k, seed, dup, which):
    """One shuffle serves every question, and each gets what shuffling the pool for it alone
    and skipping itself (by id or by text) would give."""
    import random

    from kale.eval.runner import ShotPicker, choose_shots

    pool = [Question(id=f"q{i}", question=f"text {i % (dup + 1)}", choices=["a", "b"], answer=0) for i in range(n)]
    asked = pool[which % n] if n else Question(id="x", question="y", choices=["a"], answer=0)
    order = list(pool)
    random.Random(seed).shuffle(order)
    want = [q for q in order if q.id != asked.id and q.question != asked.question][:k]
    assert ShotPicker(pool, seed).pick(asked, k) == want == choose_shots(pool, asked, k, seed)
