"""The optional judge check: a model reads the question and the rationale and picks an
answer by log-likelihood, scored exactly as `kale eval` scores a multiple-choice question
(summed log-probability of each choice, ties to the first) in the benchmark's own format. A rationale after which the
judge picks a wrong answer fails the check; the row is kept with that reason."""

from __future__ import annotations

from kale.data.schema import Question
from kale.eval.prompts import Prompt, benchmark_format, build_prompt

WRONG = "judge chose a wrong answer"


def judge_prompt(q: Question, rationale: str) -> Prompt:
    """The prompt kale eval scores for the question's benchmark, with the rationale read just
    before the answer, as training's with-rationale branch reads it. Generative benchmarks
    are judged by their answer text."""
    mode, instruction = benchmark_format(q)
    return build_prompt(q, "choice" if mode == "generate" else mode, instruction=instruction, rationale=rationale)


class Judge:
    def __init__(self, model: str, *, batch_size: int = 8, device: str = "cpu"):
        from kale.eval.models import load_model

        self.model, self.tok = load_model(model, device=device)
        self.spec, self.batch_size = model, batch_size

    def choose(self, questions: list[Question], rationales: list[str | None]) -> list[int | None]:
        """The judge's answer index per question; None where there is no rationale to judge."""
        from kale.eval.scoring import pick, score_choice_groups

        todo = [i for i, r in enumerate(rationales) if r and r.strip()]
        prompts = [judge_prompt(questions[i], rationales[i]) for i in todo]
        scores = score_choice_groups(
            self.model, self.tok, [(p.context, p.continuations) for p in prompts], self.batch_size
        )
        out: list[int | None] = [None] * len(questions)
        for i, s in zip(todo, scores):
            out[i] = pick([c.logprob for c in s])
        return out
