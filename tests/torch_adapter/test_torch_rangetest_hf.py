"""The range test on Hugging Face models: dict batches, ``model(**batch)``, no loss_fn.

Tiny randomly initialised transformers models built from a config (nothing is
downloaded). transformers is imported unconditionally: where it is missing the
module fails to collect instead of skipping.
"""

from __future__ import annotations

import copy

import pytest
import torch
import transformers

import clr_torch
from clr_core import rangetest

VOCAB, SEQ, CLASSES = 100, 12, 3


def _bert():
    cfg = transformers.BertConfig(
        vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
        intermediate_size=32, max_position_embeddings=32, num_labels=CLASSES,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
    )  # fmt: skip
    return transformers.BertForSequenceClassification(cfg)


def _distilbert():
    cfg = transformers.DistilBertConfig(
        vocab_size=VOCAB, dim=16, n_layers=2, n_heads=2, hidden_dim=32,
        max_position_embeddings=32, num_labels=CLASSES, dropout=0.0, attention_dropout=0.0,
        seq_classif_dropout=0.0,
    )  # fmt: skip
    return transformers.DistilBertForSequenceClassification(cfg)


MODELS = {"bert": _bert, "distilbert": _distilbert}


def _batches(n, seed, batch_size=16):
    """A learnable task: the label is the first token's id mod 3."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ids = torch.randint(1, VOCAB, (batch_size, SEQ), generator=g)
        out.append(
            {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids[:, 0] % 3}
        )
    return out


def _model(name, seed=0):
    torch.manual_seed(seed)
    return MODELS[name]()


def _params(model):
    return [p.detach().clone() for p in model.parameters()]


def _same(a, model):
    return all(torch.equal(x, y) for x, y in zip(a, model.parameters(), strict=True))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hf_accuracy_from_logits_on_the_training_batch(name):
    model = _model(name)
    batches = _batches(8, seed=1)
    with torch.no_grad():
        model.train()
        first = model(**batches[0])
    expected_acc = clr_torch.accuracy(first.logits, batches[0]["labels"])
    before = _params(model)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    result = clr_torch.range_test(
        model, opt, batches, metric="accuracy", start_lr=1e-5, end_lr=1.0, num_steps=20,
        progress=False,
    )  # fmt: skip
    assert result.metrics is not None  # the metric is recorded, not silently dropped
    assert len(result.metrics) == len(result.lrs) >= 5
    assert all(0.0 <= m <= 1.0 for m in result.metrics)
    assert result.metrics[0] == expected_acc  # logits of the batch against its labels
    assert result.losses[0] == pytest.approx(float(first.loss), rel=1e-6)
    assert result.provenance["metric_name"] == "accuracy"
    assert result.provenance["batch_size"] == 16
    assert _same(before, model)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_hf_accuracy_on_validation_batches_called_with_model_kwargs(name):
    model = _model(name)
    train, val = _batches(6, seed=2), _batches(3, seed=3)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    # The first point by hand: one step at the sweep's first rate, then the held-out
    # accuracy of model(**batch).logits against batch["labels"], in eval mode.
    twin = copy.deepcopy(model)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=1e-4, momentum=0.9)
    twin.train()
    twin(**train[0]).loss.backward()
    twin_opt.step()
    twin.eval()
    with torch.no_grad():
        accs = [clr_torch.accuracy(twin(**b).logits, b["labels"]) for b in val[:2]]
    result = clr_torch.range_test(
        model, opt, train, metric="accuracy", val_loader=val, val_batches=2, start_lr=1e-4,
        end_lr=1.0, num_steps=12, progress=False,
    )  # fmt: skip
    assert result.metrics is not None
    assert len(result.metrics) == len(result.lrs)
    assert result.metrics[0] == pytest.approx(sum(accs) / 2, abs=1e-12)
    assert result.provenance["metric_name"] == "val_accuracy"
    assert model.training  # modes restored


class _LossOnly(torch.nn.Module):
    """A model called with keyword arguments that returns a loss and no logits."""

    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, x, labels):
        return {"loss": torch.nn.functional.cross_entropy(self.lin(x), labels)}


class _Logits(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = torch.nn.Linear(4, 3)

    def forward(self, x, y_true=None):
        logits = self.lin(x)
        out = {"logits": logits}
        if y_true is not None:
            out["loss"] = torch.nn.functional.cross_entropy(logits, y_true)
        return out


def _xy_batches(key="labels", n=6):
    g = torch.Generator().manual_seed(0)
    return [
        {"x": torch.randn(8, 4, generator=g), key: torch.randint(0, 3, (8,), generator=g)}
        for _ in range(n)
    ]


def test_a_metric_that_cannot_be_computed_raises_naming_step_fn():
    # No logits in the output.
    model = _LossOnly()
    before = _params(model)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"no `logits`.*step_fn"):
        clr_torch.range_test(model, opt, _xy_batches(), metric="accuracy", progress=False)
    assert _same(before, model)
    with pytest.raises(ValueError, match=r"no `logits`.*step_fn"):
        clr_torch.range_test(
            model, opt, _xy_batches(), metric="accuracy", val_loader=_xy_batches(),
            progress=False,
        )  # fmt: skip
    assert _same(before, model)
    # Logits, but no labels key in the batch.
    model2 = _Logits()
    opt2 = torch.optim.SGD(model2.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"none of the keys.*step_fn"):
        clr_torch.range_test(model2, opt2, _xy_batches("y_true"), metric="accuracy", progress=False)
    # Without a metric the same batches run: the loss comes from the model.
    result = clr_torch.range_test(model2, opt2, _xy_batches("y_true"), num_steps=6, progress=False)
    assert result.metrics is None
    assert len(result.lrs) == 6


def test_a_model_without_a_loss_raises_naming_step_fn():
    model = _model("bert")
    batches = [{k: v for k, v in b.items() if k != "labels"} for b in _batches(4, seed=0)]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"`loss`.*step_fn"):
        clr_torch.range_test(model, opt, batches, progress=False)


def test_step_fn_returning_only_the_loss_does_not_drop_a_requested_metric():
    model = _LossOnly()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)

    def step(model, batch):
        return model(**batch)["loss"]

    with pytest.raises(TypeError, match=r"metric='accuracy'.*step_fn"):
        clr_torch.range_test(model, opt, _xy_batches(), step_fn=step, metric="accuracy",
                             progress=False)  # fmt: skip

    def step_with_metric(model, batch):
        logits = model.lin(batch["x"])
        loss = torch.nn.functional.cross_entropy(logits, batch["labels"])
        return loss, clr_torch.accuracy(logits.detach(), batch["labels"])

    result = clr_torch.range_test(
        model, opt, _xy_batches(), step_fn=step_with_metric, metric="accuracy", num_steps=6,
        progress=False,
    )  # fmt: skip
    assert result.metrics is not None
    assert len(result.metrics) == 6


def test_accuracy_leaves_out_ignored_labels():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0], [2.0, 0.0]]])  # (batch 1, 3 tokens, 2)
    labels = torch.tensor([[0, 0, -100]])  # the padding token does not count
    assert clr_torch.accuracy(logits, labels) == 0.5
    assert clr_torch.accuracy(logits[:, :2], torch.tensor([[0, 1]])) == 1.0


def test_the_hf_result_hands_off_to_a_schedule():
    model = _model("bert")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    result = clr_torch.range_test(
        model, opt, _batches(8, seed=4), metric="accuracy", start_lr=1e-5, end_lr=10.0,
        num_steps=30, progress=False,
    )  # fmt: skip
    assert isinstance(result, rangetest.RangeTestResult)
    plan = result.to_one_cycle(iterations_per_epoch=8, epochs=3)
    sched = clr_torch.ScheduleLR(opt, plan, momentum=plan.momentum(0.85, 0.95))
    assert sched.get_last_lr() == [plan(0)]
    assert opt.param_groups[0]["betas"][0] == 0.95
