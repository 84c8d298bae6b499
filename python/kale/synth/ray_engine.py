"""The optional Ray engine: the local engine's batch function (`SynthBatch`), run as Ray tasks.

Each task gets a `SynthJob` (settings only) and a batch of questions; its worker process
opens the graph by path and builds the linker, writer and judge once, then keeps them for
every later task with the same job. The rows come back to the driver, which writes each
finished batch as a Parquet part, so resuming, skipping finished ids and --shard behave
exactly as with the local engine. On a multi-machine cluster the graph path (and any
model folder) must exist on every node, and kale must be installed there.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator
from dataclasses import replace

from kale.data.schema import Question
from kale.exceptions import KaleError, KaleValueError
from kale.synth.pipeline import SynthBatch, SynthJob

_LOADED: dict[SynthJob, SynthBatch] = {}  # per worker process: a model is loaded once, not once a task


def run_batch(job: SynthJob, questions: list[Question]) -> list[dict]:
    batch = _LOADED.get(job)
    if batch is None:
        batch = _LOADED[job] = SynthBatch.from_job(job)
    return batch(questions)


def check_reachable(address: str) -> None:
    """Ray retries an unreachable host:port for minutes; say so at once instead."""
    host, sep, port = address.split("://")[-1].rpartition(":")
    if not sep or not port.isdigit():
        return  # "auto" and other forms Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as e:
        raise KaleValueError(
            f"--ray-address {address}: nothing answers there ({e.strerror or e}); "
            "start a cluster with `ray start --head`, or leave --ray-address out for a local instance"
        ) from None


class RayEngine:
    """`map` submits the batches as tasks (a bounded number in flight) and yields each
    batch's rows as soon as it finishes. Joins the cluster at `address` ("auto" or
    host:port), or starts a local Ray instance when address is None and none is running."""

    def __init__(
        self, job: SynthJob, address: str | None = None, *, cpus_per_task: float = 1, object_store_mb: int = 512
    ):
        import ray

        # a task's path search uses the CPUs Ray reserved for it, not the whole machine's
        self.ray, self.job, self.cpus = (
            ray,
            replace(job, threads=job.threads or max(1, int(cpus_per_task))),
            cpus_per_task,
        )
        self.started = not ray.is_initialized()
        if self.started:
            if address:
                check_reachable(address)
            try:
                if address:
                    ray.init(address=address)
                else:  # "local": a new instance even where RAY_ADDRESS or `ray start` names another;
                    # rows are kilobytes, so a small object store is plenty
                    ray.init(address="local", include_dashboard=False, object_store_memory=object_store_mb * 2**20)
            except (ConnectionError, RuntimeError, ValueError) as e:
                raise KaleValueError(f"cannot start or join Ray at {address or 'a new local instance'}: {e}") from None

    @property
    def setup(self) -> tuple[str, str]:
        """(writer, prompt hash), as SynthBatch.setup, without loading the writer here."""
        from kale.synth.prompts import load_prompt

        return self.job.writer.name, (self.job.prompt or load_prompt(with_paths=self.job.with_paths)).hash

    def map(self, batches: Iterable[list[Question]]) -> Iterator[list[dict]]:
        ray = self.ray
        task = ray.remote(num_cpus=self.cpus)(run_batch)
        job = ray.put(self.job)
        window = max(
            2, int(2 * ray.cluster_resources().get("CPU", 1) / self.cpus)
        )  # keep every CPU busy, not every batch queued
        todo, pending = iter(batches), []
        while True:
            while len(pending) < window and (batch := next(todo, None)) is not None:
                pending.append(task.remote(job, batch))
            if not pending:
                return
            done, pending = ray.wait(pending, num_returns=1)
            try:
                yield ray.get(done[0])
            except ray.exceptions.RayTaskError as e:
                cause = getattr(e, "cause", None) or e
                raise KaleError(f"a Ray task failed: {type(cause).__name__}: {cause}") from None

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
