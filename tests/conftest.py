import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# "ci" keeps the suite inside CI's budget; "deep" is for hunting bugs by hand.
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("deep", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

# shared/ lies beside the checkout (as in CI); KALE_SHARED points elsewhere.
SHARED = Path(os.environ.get("KALE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
WORDNET = Path("/usr/share/wordnet")


@pytest.fixture(scope="session")
def wordnet_graph(tmp_path_factory):
    if not (WORDNET / "data.noun").is_file():
        pytest.skip("WordNet is not installed (apt-get install wordnet-base; scripts/setup.sh does it)")
    from kale import Graph

    return Graph.build(tmp_path_factory.mktemp("wn") / "wordnet.kg", wordnet=WORDNET, progress=False)


@pytest.fixture(scope="session")
def shared_dir():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not present")
    return SHARED


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A tiny random Llama with a word-level tokenizer, saved as a Hugging Face folder."""
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    words = "<unk> <pad> <eos> the dog barks because it is a why where do sleep bed tree question answer : . ?".split()
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", pad_token="<pad>", eos_token="<eos>")
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
    )
    folder = tmp_path_factory.mktemp("tiny") / "model"
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder
