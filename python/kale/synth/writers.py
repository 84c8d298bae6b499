"""Rationale writers: a deterministic template, a local transformers model, and any
OpenAI-compatible endpoint (vLLM, SGLang, TGI, OpenAI).

Every writer takes a batch of rendered prompts and the matching knowledge and returns
one `Written` per prompt: the text, or the reason it failed. A writer never raises
for one bad row; the row is recorded as failed and the run goes on.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from kale.exceptions import KaleValueError
from kale.synth import openai_http


@dataclass(frozen=True)
class Written:
    text: str | None
    error: str | None = None


class TemplateWriter:
    """No LLM: the paths themselves, one sentence a hop, then the answer.
    Cheap and deterministic, for tests and for measuring everything but the writer. It ends
    every rationale with "So the answer is X.", so it is an oracle for the answer, not a
    knowledge rationale: what a model learns from it is mostly that sentence."""

    name = "template (oracle: states the answer)"
    states_answer = True

    def write(self, prompts: list[str], facts: list[list[str]], answers: list[str]) -> list[Written]:
        out = []
        for hops, answer in zip(facts, answers):
            if hops:
                body = " ".join(f"{h[0].upper()}{h[1:]}." for h in hops)
                out.append(Written(f"{body} So the answer is {answer}."))
            else:
                out.append(Written(f"No knowledge path links the question to it, but the answer is {answer}."))
        return out


class OracleWriter:
    """No LLM and no knowledge: "The answer is X." for every question. The upper bound of what
    KA can teach from a rationale (and a sanity check of the training format)."""

    name = "oracle"
    states_answer = True

    def write(self, prompts: list[str], facts: list[list[str]], answers: list[str]) -> list[Written]:
        return [Written(f"The answer is {answer}.") for answer in answers]


SMOLLM2 = "smollm2-135m-instruct"


def transformers_name(model: str) -> str:
    return f"transformers:{Path(model).name if model != SMOLLM2 else SMOLLM2}"


class TransformersWriter:
    """A local causal LM, greedy decoding, batched with left padding."""

    def __init__(self, model: str = SMOLLM2, *, max_new_tokens: int = 96, batch_size: int = 8):
        from kale.eval.models import load_model

        self.model, self.tok = load_model(model)
        self.name = transformers_name(model)
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.tok.padding_side = "left"
        if self.tok.pad_token is None:
            self.tok.pad_token = self.tok.eos_token

    def _chat(self, prompt: str) -> str:
        if getattr(self.tok, "chat_template", None):
            return self.tok.apply_chat_template(
                [{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True
            )
        return prompt + "\n\nRationale:"

    def write(self, prompts: list[str], facts: list[list[str]], answers: list[str]) -> list[Written]:
        import torch

        out: list[Written] = []
        for start in range(0, len(prompts), self.batch_size):
            chunk = [self._chat(p) for p in prompts[start : start + self.batch_size]]
            enc = self.tok(chunk, return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.no_grad():
                gen = self.model.generate(
                    **enc, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=self.tok.pad_token_id
                )
            for row in gen[:, enc["input_ids"].shape[1] :]:
                out.append(Written(self.tok.decode(row, skip_special_tokens=True).strip()))
        return out


def read_api_key(env: str | None, file: str | None) -> str | None:
    """From a file or an environment variable; the key is never printed or stored."""
    if file:
        p = Path(file)
        if not p.is_file():
            raise KaleValueError(f"API key file {p} does not exist")
        return p.read_text(encoding="utf-8").strip() or None
    if env:
        return os.environ.get(env) or None
    return None


class RateLimiter:
    """At most `per_second` request starts per second across threads."""

    def __init__(self, per_second: float | None):
        self.interval = 1.0 / per_second if per_second else 0.0
        self.lock = threading.Lock()
        self.next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            start = max(now, self.next)
            self.next = start + self.interval
        time.sleep(max(0.0, start - now))


class OpenAIWriter:
    """POST /v1/chat/completions to any OpenAI-compatible server, concurrently, with a
    deadline per request, retries with exponential backoff and jitter (or the server's
    Retry-After) on 429, 5xx, network errors and garbled answers, and an optional rate
    limit. Whatever the server does, each row gets its text or a reason (openai_http.py)."""

    RETRY_STATUS = openai_http.RETRY_STATUS

    def __init__(
        self,
        endpoint: str,
        model: str,
        *,
        api_key: str | None = None,
        concurrency: int = 8,
        timeout: float = 60.0,
        retries: int = 5,
        backoff: float = 1.0,
        rate_limit: float | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
    ):
        if not endpoint.startswith(("http://", "https://")):
            raise KaleValueError(f"endpoint must be an http(s) URL, not {endpoint!r}")
        openai_http.check_settings(
            concurrency=concurrency, timeout=timeout, retries=retries, rate_limit=rate_limit, backoff=backoff
        )
        base = endpoint.rstrip("/")
        self.url = (
            base
            if base.endswith("/chat/completions")
            else base + ("/chat/completions" if base.endswith("/v1") else "/v1/chat/completions")
        )
        self.model, self._key = model, api_key
        self.concurrency, self.timeout, self.retries, self.backoff = concurrency, timeout, retries, backoff
        self.limiter = RateLimiter(rate_limit)
        self.max_tokens, self.temperature = max_tokens, temperature
        self.name = f"openai:{model}"

    def __repr__(self) -> str:  # never show the key
        return f"OpenAIWriter(url={self.url!r}, model={self.model!r})"

    def _one(self, prompt: str) -> Written:
        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "max_tokens": self.max_tokens,
                "temperature": self.temperature,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        last, wait = "no attempt", None
        for attempt in range(self.retries + 1):
            if attempt:
                time.sleep(wait if wait is not None else self.backoff * 2 ** (attempt - 1) * (0.5 + random.random()))
            self.limiter.wait()
            try:
                return Written(openai_http.chat_content(openai_http.post(self.url, body, headers, self.timeout)))
            except openai_http.Failed as e:
                if not e.retry:
                    return Written(None, e.reason)
                last, wait = e.reason, e.retry_after
            except Exception as e:  # noqa: BLE001 -- one row's surprise must not end the run
                return Written(None, f"unexpected error: {type(e).__name__}: {e}")
        return Written(None, f"gave up after {self.retries + 1} attempts ({last})")

    def write(self, prompts: list[str], facts: list[list[str]], answers: list[str]) -> list[Written]:
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            return list(pool.map(self._one, prompts))


@dataclass(frozen=True)
class WriterSpec:
    """A writer as settings rather than a loaded object: small and picklable, so a Ray worker
    builds its own writer (and loads its own model) instead of receiving one."""

    kind: str = "template"  # template | oracle | transformers | openai
    model: str = SMOLLM2
    endpoint: str | None = None
    api_key: str | None = field(default=None, repr=False)  # never shown
    concurrency: int = 8
    timeout: float = 60.0
    retries: int = 5
    rate_limit: float | None = None

    def __post_init__(self):
        if self.kind == "openai":  # refused here, at startup, not once per row in every worker
            openai_http.check_settings(
                concurrency=self.concurrency, timeout=self.timeout, retries=self.retries, rate_limit=self.rate_limit
            )

    @property
    def name(self) -> str:
        """The `writer` column of the rows this writer makes, without loading it."""
        return {
            "template": TemplateWriter.name,
            "oracle": OracleWriter.name,
            "transformers": transformers_name(self.model),
            "openai": f"openai:{self.model}",
        }.get(self.kind, self.kind)

    def build(self):
        if self.kind == "template":
            return TemplateWriter()
        if self.kind == "oracle":
            return OracleWriter()
        if self.kind == "transformers":
            return TransformersWriter(self.model)
        if self.kind == "openai":
            if not self.endpoint:
                raise KaleValueError("--writer openai needs --endpoint")
            return OpenAIWriter(
                self.endpoint,
                self.model,
                api_key=self.api_key,
                concurrency=self.concurrency,
                timeout=self.timeout,
                retries=self.retries,
                rate_limit=self.rate_limit,
            )
        raise KaleValueError(f"unknown writer {self.kind!r}; accepted: template, oracle, transformers, openai")
