"""The AIDP library beyond the basic operators: dedup kernels, scoring, mixing, LLM operators over a local
OpenAI-protocol server, embeddings, perplexity, and recipes checked before they run."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from datasets import Dataset
from pydantic import ValidationError

from tests.aidp.openai_server import openai_server
from trex.aidp.dedup import lsh_bands, minhash_signatures
from trex.aidp.expressions import compile_predicate
from trex.aidp.llm_cache import LLMSettings
from trex.aidp.operators import (
    DecontaminateParams,
    DedupParams,
    EmbedParams,
    FormatParams,
    GenerateParams,
    JudgeParams,
    LoadRemoteParams,
    MixParams,
    NearDedupParams,
    OperatorError,
    PerplexityParams,
    PreferenceParams,
    ScoreParams,
    compute_perplexity,
    decontaminate,
    deduplicate_by_text_hash,
    deduplicate_near,
    format_for_training,
    generate_dataset_with_llm,
    generate_preference_dataset,
    generate_text_embeddings,
    load_remote_dataset,
    mix_datasets,
    score_dataset_with_llm,
    select_by_score,
)
from trex.aidp.recipe import Recipe, RecipeError, Step, fingerprint, load_recipe, run_recipe
from trex.aidp.text import ngram_keys, normalize, token_ids


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


# --- dedup and decontamination ---------------------------------------------------------------
def test_exact_dedup_follows_a_previous_selection() -> None:
    ds = Dataset.from_dict({"text": ["b", "A  a", "a a", "c", "B", "a A"]}).select([5, 0, 1, 2, 3, 4])
    out = deduplicate_by_text_hash(ds, DedupParams())
    assert out["text"] == ["a A", "b", "c"]  # first of each normalized value, in the selection's order
    assert deduplicate_by_text_hash(ds, DedupParams(normalize=False))["text"] == ["a A", "b", "A  a", "a a", "c", "B"]


def test_normalize_only_touches_rows_that_need_it() -> None:
    column = pa.array([" Hello   World ", "plain text", "tab\there", None])
    assert normalize(column).to_pylist() == ["hello world", "plain text", "tab here", None]


def test_ngram_keys_are_shared_across_columns() -> None:
    (a_ids, a_off), (b_ids, b_off) = token_ids(pa.array(["x y z", "q"]), pa.array(["y z w"]))
    a_keys, a_rows = ngram_keys(a_ids, a_off, 2)
    b_keys, _ = ngram_keys(b_ids, b_off, 2)
    assert list(a_rows) == [0, 0, 1]  # 'x y', 'y z' and the short row 'q'
    assert len(set(a_keys) & set(b_keys)) == 1  # only 'y z'


def test_minhash_estimates_jaccard() -> None:
    # row 0: keys 0..99, row 1: keys 50..149 -> Jaccard 50 / 150
    keys = np.concatenate([np.arange(100), np.arange(50, 150)]).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    owners = np.repeat([0, 1], 100)
    sig = minhash_signatures(keys, owners, 2, 512, seed=0)
    assert abs((sig[0] == sig[1]).mean() - 1 / 3) < 0.06
    assert lsh_bands(0.8, 128) == (9, 13)  # the same bands as datasketch's optimum


def test_near_dedup_removes_near_copies_and_keeps_distinct_rows() -> None:
    rng = random.Random(0)
    vocab = [f"w{i}" for i in range(500)]
    base = [" ".join(rng.choice(vocab) for _ in range(60)) for _ in range(40)]
    near = []
    for text in base[:10]:  # the last of sixty words changed: Jaccard of 5-grams 55/57, found with p > 0.9999
        words = text.split()
        words[-1] = "changed"
        near.append(" ".join(words))
    ds = Dataset.from_dict({"text": base + near})
    out = deduplicate_near(ds, NearDedupParams(threshold=0.8))
    assert out["text"] == base
    chinese = Dataset.from_dict(
        {"text": ["今天的天气非常好我们去公园散步吧", "今天的天气非常好我们去公园散步啊", "股票市场今天大幅下跌"]}
    )
    kept = deduplicate_near(chinese, NearDedupParams(unit="char", ngram=3, threshold=0.7))
    assert kept["text"] == ["今天的天气非常好我们去公园散步吧", "股票市场今天大幅下跌"]


def test_decontaminate_drops_rows_overlapping_evaluation(tmp_path: Path) -> None:
    test = _jsonl(tmp_path / "test.jsonl", [{"text": "the quick brown fox jumps over the lazy dog today"}])
    train = Dataset.from_dict(
        {
            "text": [
                "I saw that the quick brown fox jumps over the lazy dog again",  # shares an 8-gram
                "the quick brown fox sleeps",
                "something else entirely",
            ]
        }
    )
    out = decontaminate(train, DecontaminateParams(against=[str(test)]))
    assert out["text"] == ["the quick brown fox sleeps", "something else entirely"]
    with pytest.raises(OperatorError, match="column 'input' not in"):
        decontaminate(train, DecontaminateParams(against=[str(test)], against_column="input"))


# --- selection, mixing, formats --------------------------------------------------------------
def test_select_by_score_rules() -> None:
    ds = Dataset.from_dict({"id": [0, 1, 2, 3, 4], "s": [0.5, None, 0.9, 0.1, 0.7]})
    assert select_by_score(ds, ScoreParams(column="s", top_k=2))["id"] == [2, 4]
    assert select_by_score(ds, ScoreParams(column="s", top_p=0.4, keep="lowest"))["id"] == [0, 3]
    assert select_by_score(ds, ScoreParams(column="s", threshold=0.5))["id"] == [0, 2, 4]  # None never passes
    assert select_by_score(ds, ScoreParams(column="s", threshold=0.5, keep="lowest"))["id"] == [0, 3]
    with pytest.raises(ValidationError, match="exactly one of"):
        ScoreParams(column="s", top_k=1, top_p=0.5)


def test_mix_datasets_by_ratio(tmp_path: Path) -> None:
    other = _jsonl(tmp_path / "other.jsonl", [{"text": f"o{i}", "label": "x"} for i in range(50)])
    ds = Dataset.from_dict({"text": [f"i{i}" for i in range(100)], "label": ["y"] * 100})
    out = mix_datasets(ds, MixParams(sources=[{"path": str(other), "ratio": 1.0, "name": "other"}], n=60, seed=1))
    assert sorted(set(out["source"])) == ["input", "other"]
    assert out["source"].count("input") == 30 and out["source"].count("other") == 30
    again = mix_datasets(ds, MixParams(sources=[{"path": str(other), "ratio": 1.0, "name": "other"}], n=60, seed=1))
    assert again["text"] == out["text"]  # seeded
    bad = _jsonl(tmp_path / "bad.jsonl", [{"body": "x"}])
    with pytest.raises(OperatorError, match=r"lacks column\(s\) \['text', 'label'\]"):
        mix_datasets(ds, MixParams(sources=[{"path": str(bad), "ratio": 1.0}]))


def test_format_for_training_as_chat() -> None:
    ds = Dataset.from_dict({"text": ["good film"], "label": ["fresh"]})
    out = format_for_training(
        ds, FormatParams(prompt_template="Review: {text}", completion_template=" {label}", style="chat")
    )
    assert out[0]["messages"] == [
        {"role": "user", "content": "Review: good film"},
        {"role": "assistant", "content": "fresh"},
    ]


def test_vectorized_predicates_agree_with_row_semantics() -> None:
    rows = {"text": ["Hello world", "hi", "HELLO again", "x"], "label": ["a", "b", "a", "c"], "n": [1, 2, 3, 4]}
    columns = {k: pa.array(v) for k, v in rows.items()}
    expressions = [
        "len(text) >= 5",
        "label in ['a', 'c'] and n > 1",
        "text.lower().startswith('hello') or n == 2",
        "not label == 'a'",
        "n * 2 - 1 > 4",
        "label not in ('b',)",
    ]
    for source in expressions:
        predicate = compile_predicate(source, list(rows))
        row_wise = [predicate({k: v[i] for k, v in rows.items()}) for i in range(4)]
        assert predicate.mask(columns).tolist() == row_wise, source
    assert compile_predicate("label == 1", list(rows)).mask(columns) is None  # mixed types: the row path decides


# --- loaders ---------------------------------------------------------------------------------
def test_remote_loader_fails_fast_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(OperatorError, match="the Hugging Face Hub is unreachable \\(dataset 'stanfordnlp/sst2'\\)"):
        load_remote_dataset(None, LoadRemoteParams(name="stanfordnlp/sst2"))
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens: refused at once
    with pytest.raises(OperatorError, match="unreachable"):
        load_remote_dataset(None, LoadRemoteParams(name="stanfordnlp/sst2", timeout_s=2))


# --- models ----------------------------------------------------------------------------------
def test_perplexity_matches_a_direct_computation(tiny_model) -> None:
    import torch

    model, tokenizer = tiny_model
    ds = Dataset.from_dict({"text": ["the film was good", "a", "bad plot and worse acting in every scene"]})
    out = compute_perplexity(ds, PerplexityParams(model="embedded:tiny-qwen2", batch_size=2))
    ids = torch.tensor([tokenizer("the film was good")["input_ids"]])
    with torch.inference_mode():
        loss = model(input_ids=ids, labels=ids).loss
    assert out["perplexity"][0] == pytest.approx(math.exp(float(loss)), rel=1e-4)
    if len(tokenizer("a")["input_ids"]) < 2:
        assert math.isnan(out["perplexity"][1])
    assert out["perplexity"][2] > 1.0


def test_embeddings_put_similar_sentences_together() -> None:
    ds = Dataset.from_dict(
        {"text": ["A cat sits on the mat.", "A kitten is sitting on a rug.", "Stock prices fell sharply."]}
    )
    out = generate_text_embeddings(ds, EmbedParams())
    vectors = np.array(out["embedding"])
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


# --- LLM operators over a real local server --------------------------------------------------
def test_llm_judge_scores_rows_and_a_rerun_is_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path / "cache"))

    def judge(messages: list[dict]) -> str:
        item = messages[-1]["content"]
        return json.dumps({"score": 9 if "helpful" in item else 2, "reason": "rubric"})

    ds = Dataset.from_dict({"prompt": ["q1", "q2"], "completion": ["a helpful answer", "nonsense"]})
    with openai_server(judge) as (url, requests):
        params = JudgeParams(
            template="Q: {prompt}\nA: {completion}",
            rubric="Helpful answers score high.",
            llm=LLMSettings(model="judge", base_url=url),
        )
        out = score_dataset_with_llm(ds, params)
        assert out["llm_score"] == [9, 2] and len(requests) == 2
        assert "Helpful answers score high." in requests[0]["messages"][-1]["content"]
        again = score_dataset_with_llm(ds, params)
        assert again["llm_score"] == [9, 2] and len(requests) == 2  # cached: no new request


def test_llm_judge_out_of_scale_is_sent_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path / "cache"))
    replies = iter(['{"score": 42}', '{"score": 7}'])
    ds = Dataset.from_dict({"text": ["x"]})
    with openai_server(lambda messages: next(replies)) as (url, requests):
        out = score_dataset_with_llm(
            ds, JudgeParams(template="{text}", rubric="r", llm=LLMSettings(model="m", base_url=url), workers=1)
        )
    assert out["llm_score"] == [7]
    assert "outside 1-10" in requests[1]["messages"][-1]["content"]


def test_generate_dataset_with_llm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path / "cache"))
    counter = iter(range(1000))

    def writer(messages: list[dict]) -> str:
        n = next(counter)
        items = [{"text": f"new review {n}-{i}", "label": "fresh"} for i in range(2)]
        items.append({"text": "great film", "label": "fresh"})  # a copy of a seed row: dropped
        return json.dumps({"items": items})

    ds = Dataset.from_dict({"text": ["great film", "awful film", "fine film"], "label": ["fresh", "rotten", "fresh"]})
    with openai_server(writer) as (url, requests):
        params = GenerateParams(
            instruction="movie review -> fresh or rotten",
            n=4,
            rows_per_call=2,
            examples_per_call=2,
            llm=LLMSettings(model="writer", base_url=url),
            workers=1,
        )
        out = generate_dataset_with_llm(ds, params)
        assert len(requests) == 2
        assert out["synthetic"] == [False] * 3 + [True] * 4
        assert "great film" in out["text"][:3] and out["text"].count("great film") == 1
        assert "Examples:" in requests[0]["messages"][-1]["content"]
        assert generate_dataset_with_llm(ds, params)["text"] == out["text"] and len(requests) == 2  # cached


def test_preference_pairs_by_rank_and_by_a_position_fair_judge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TREX_CACHE", str(tmp_path / "cache"))
    ranked = Dataset.from_dict(
        {"prompt": ["p", "p", "p", "q"], "completion": ["ok", "best", "worst", "only"], "s": [5, 9, 1, 4]}
    )
    out = generate_preference_dataset(ranked, PreferenceParams(method="rank", score_column="s"))
    assert out.to_list() == [{"prompt": "p", "chosen": "best", "rejected": "worst"}]  # q has one answer: no pair

    def fair(messages: list[dict]) -> str:
        text = messages[-1]["content"]
        a = text.split("Answer A:")[1].split("Answer B:")[0]
        return json.dumps({"better": "A" if "correct" in a else "B"})

    pairs = Dataset.from_dict({"prompt": ["2+2?"], "a": ["5"], "b": ["4, correct"]})
    with openai_server(fair) as (url, _):
        params = PreferenceParams(method="judge", answer_a="a", answer_b="b", llm=LLMSettings(model="j", base_url=url))
        assert generate_preference_dataset(pairs, params).to_list() == [
            {"prompt": "2+2?", "chosen": "4, correct", "rejected": "5"}
        ]
    with openai_server(lambda messages: '{"better": "A"}') as (url, _):  # always the first position: no verdict
        params = PreferenceParams(method="judge", answer_a="a", answer_b="b", llm=LLMSettings(model="k", base_url=url))
        with pytest.raises(OperatorError, match="no pair"):
            generate_preference_dataset(pairs, params)


# --- recipes ---------------------------------------------------------------------------------
def test_recipe_is_checked_before_any_work_and_fingerprinted(tmp_path: Path) -> None:
    data = _jsonl(tmp_path / "rows.jsonl", [{"text": f"row number {i}", "label": "x"} for i in range(10)])
    recipe = Recipe(
        steps=[
            Step(op="load_local_dataset", args={"path": str(data)}),
            Step(op="compute_perplexity", args={"column": "body"}),  # would load a model: must not be reached
        ]
    )
    with pytest.raises(RecipeError, match=r"step 2 \(compute_perplexity\): column\(s\) \['body'\] not in the data"):
        run_recipe(recipe)
    good = Recipe(
        steps=[
            Step(op="load_local_dataset", args={"path": str(data)}),
            Step(op="select_by_filter", args={"expression": "len(text) >= 12"}),
            Step(op="select_by_random", args={"n": 3, "seed": 1}),
        ]
    )
    ds, stats = run_recipe(good)
    assert [(s.rows_in, s.rows_out, s.dropped) for s in stats] == [(0, 10, 0), (10, 10, 0), (10, 3, 7)]
    assert stats[2].reason == "not drawn in the sample" and stats[1].reason is None
    key = fingerprint(good)
    assert key == fingerprint(Recipe.model_validate(good.model_dump()))
    reseeded = good.model_copy(deep=True)
    reseeded.steps[2].args["seed"] = 2
    assert fingerprint(reseeded) != key
    _jsonl(data, [{"text": f"row number {i}!", "label": "x"} for i in range(10)])  # same path, new content
    assert fingerprint(good) != key


def test_load_recipe_names_the_step_and_field(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("- op: load_local_dataset\n  args: {path: x.jsonl}\n- {op: cap_samples, arg: {}}\n")
    with pytest.raises(RecipeError, match=r"r.yaml: step 2: arg: Extra inputs are not permitted"):
        load_recipe(path)
    path.write_text("steps:\n  - op: load_local_dataset\n    args: {path: x.jsonl}\n")
    assert load_recipe(path).steps[0].op == "load_local_dataset"


def test_a_missing_optional_dependency_fails_when_the_recipe_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "sentence_transformers" else real(name, *a)
    )
    recipe = Recipe(
        steps=[Step(op="load_local_dataset", args={"path": "x.jsonl"}), Step(op="generate_text_embeddings")]
    )
    with pytest.raises(RecipeError, match=r"step 2 \(generate_text_embeddings\): needs trex\[embed\]"):
        recipe.validate_steps()


def test_select_by_filter_with_code_runs_in_the_sandbox() -> None:
    from trex.aidp.operators import FilterParams, select_by_filter

    ds = Dataset.from_dict({"text": ["keep me please", "no", "also keep this one"]})
    code = "import re\n\ndef keep(row):\n    return len(re.findall(r'\\w+', row['text'])) >= 3\n"
    assert select_by_filter(ds, FilterParams(code=code))["text"] == ["keep me please", "also keep this one"]
    hostile = "def keep(row):\n    import socket\n    socket.create_connection(('127.0.0.1', 9))\n    return True\n"
    with pytest.raises(OperatorError, match="sandboxed code stopped"):
        select_by_filter(ds, FilterParams(code=hostile))
    with pytest.raises(ValidationError, match="must define a function keep"):
        FilterParams(code="def other(row):\n    return True\n")
    with pytest.raises(ValidationError, match="exactly one of expression or code"):
        FilterParams(expression="True", code="def keep(row):\n    return True\n")


def test_local_loader_formats_and_peeked_columns(tmp_path: Path) -> None:
    import gzip

    import pyarrow.parquet as pq

    from trex.aidp.loaders import LoadLocalParams, load_local_dataset, peek_local_columns

    rows = [{"text": "a", "label": "x"}, {"text": "b", "label": "y"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "rows.parquet")
    with gzip.open(tmp_path / "rows.jsonl.gz", "wt") as handle:
        handle.write("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "rows.json").write_text(json.dumps(rows))
    with (
        pa.OSFile(str(tmp_path / "rows.arrow"), "wb") as sink,
        pa.ipc.new_stream(sink, pa.schema([("text", pa.string()), ("label", pa.string())])) as writer,
    ):
        writer.write_table(pa.Table.from_pylist(rows))
    for name in ("rows.parquet", "rows.jsonl.gz", "rows.json", "rows.arrow"):
        params = LoadLocalParams(path=str(tmp_path / name))
        assert load_local_dataset(None, params).to_list() == rows, name
    assert peek_local_columns(LoadLocalParams(path=str(tmp_path / "rows.parquet"))) == ["text", "label"]
    assert peek_local_columns(LoadLocalParams(path=str(tmp_path / "rows.jsonl.gz"))) == ["text", "label"]
    assert peek_local_columns(LoadLocalParams(path=str(tmp_path / "rows.json"))) is None  # a JSON array: unknown
