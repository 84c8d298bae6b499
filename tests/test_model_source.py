"""One model resolver for every stage: the forms it accepts and what it says of the rest."""

from __future__ import annotations

import pytest

from kale.exceptions import KaleFileNotFoundError, KaleValueError
from kale.model_source import resolve_model


def test_the_accepted_forms(tmp_path):
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text("{}")
    assert resolve_model(hf) == (hf, None)
    one = tmp_path / "one"
    one.mkdir()
    (one / "m.Q4.gguf").write_bytes(b"")
    assert resolve_model(one) == (one, "m.Q4.gguf")
    assert resolve_model(one / "m.Q4.gguf") == (one, "m.Q4.gguf")
    (one / "m.Q8.gguf").write_bytes(b"")
    with pytest.raises(KaleValueError, match="several .gguf files"):
        resolve_model(one)
    assert resolve_model(one, gguf_file="m.Q8.gguf") == (one, "m.Q8.gguf"), "gguf_file picks one"
    assert resolve_model(one / "m.Q4.gguf", gguf_file="m.Q8.gguf") == (one, "m.Q4.gguf"), "a named file wins"
    with pytest.raises(KaleFileNotFoundError, match="no 'm.Q2.gguf'"):
        resolve_model(one, gguf_file="m.Q2.gguf")


def test_what_it_refuses_names_the_accepted_forms(tmp_path):
    with pytest.raises(KaleFileNotFoundError, match="no such file or folder; accepted: .*smollm2-135m-instruct"):
        resolve_model(tmp_path / "missing")
    (tmp_path / "weights.bin").write_bytes(b"")
    with pytest.raises(KaleValueError, match="not .gguf; accepted"):
        resolve_model(tmp_path / "weights.bin")
    with pytest.raises(KaleValueError, match="neither config.json nor a .gguf file"):
        resolve_model(tmp_path)


def test_training_resolves_with_the_same_resolver(tmp_path):
    pytest.importorskip("torch")
    from kale.train.config import TrainConfig
    from kale.train.errors import KaleTrainError
    from kale.train.model_io import _locate

    one = tmp_path / "one"
    one.mkdir()
    (one / "a.gguf").write_bytes(b"")
    (one / "b.gguf").write_bytes(b"")
    assert _locate(TrainConfig(model=str(one), gguf_file="b.gguf")) == (one, "b.gguf")
    with pytest.raises(KaleTrainError, match="no such file or folder; accepted"):
        _locate(TrainConfig(model=str(tmp_path / "missing")))
    with pytest.raises(KaleTrainError, match="several .gguf files"):
        _locate(TrainConfig(model=str(one)))
