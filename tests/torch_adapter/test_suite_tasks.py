"""The benchmark suite's generated tasks: deterministic data with the labels their
docstrings define, and networks whose output fits the task's metric."""

from __future__ import annotations

import math

import pytest
import torch

from clr_torch.demo import tasks

GENERATED = (
    "motif-gru-sgd",
    "adding-lstm-sgd",
    "count-transformer-adamw",
    "recall-rnn-sgd",
    "friedman3-deepmlp-adam",
    "mnist1d-dropout-sgd",
    "clean8-mlp-sgd",
)


def test_count_labels_are_the_query_s_occurrences_capped():
    x, y, xt, yt = tasks._counts()
    assert x.shape == (2000, 32)
    assert xt.shape == (1000, 32)
    assert x.dtype == torch.int64
    assert (int(x.min()), int(x.max())) == (0, 7)
    for xs, ys in ((x, y), (xt, yt)):
        counts = [min(int((row[1:] == row[0]).sum()), 5) for row in xs[:200]]
        assert ys[:200].tolist() == counts
    assert set(y.tolist()) == set(range(6))  # all six classes occur


def test_adding_target_is_the_standardised_sum_of_the_marked_values():
    x, y, _, _ = tasks._adding()
    raw = (x[:, :, 0] * x[:, :, 1]).sum(1)
    assert torch.equal(x[:, :, 1].sum(1), torch.full((2000,), 2.0))  # two marks each
    assert torch.allclose((raw - raw.mean()) / raw.std(), y, atol=1e-5)


def test_recall_class_is_marked_on_the_first_step_only():
    x, y, _, _ = tasks._recall()
    shifted = x.clone()
    shifted[torch.arange(len(y)), 0, y] -= 2.0  # take the mark away: only noise is left
    assert float(shifted.mean().abs()) < 0.01
    assert abs(float(shifted.std()) - 1.0) < 0.01
    assert float((x[:, 0].argmax(1) == y).float().mean()) > 0.7  # the mark is readable
    assert float((x[:, -1].argmax(1) == y).float().mean()) < 0.3  # later steps carry nothing


def test_friedman3_is_standardised_on_the_training_split():
    x, y, xt, yt = tasks._data("friedman3")
    assert (x.shape, xt.shape) == ((2000, 4), (1000, 4))
    assert torch.allclose(x.mean(0), torch.zeros(4), atol=1e-4)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(4), atol=1e-4)
    assert abs(float(y.mean())) < 1e-4
    assert abs(float(y.std(unbiased=False)) - 1.0) < 1e-4
    assert 0.5 < float(yt.std()) < 1.5  # the test split is on the same scale, not refitted
    depth = sum(isinstance(m, torch.nn.Linear) for m in tasks.make_model("friedman3-deepmlp-adam"))
    assert depth == 7  # six hidden layers, no normalisation


@pytest.mark.parametrize("name", ["mnist1d-dropout-sgd", "digits-dropout-sgd"])
def test_dropout_is_on_in_training_and_off_in_evaluation(name):
    task = tasks.load_task(name)
    torch.manual_seed(0)
    model = tasks.make_model(name)
    x = task.x[:64]
    assert not torch.equal(model(x), model(x))  # training mode: a new mask each call
    score = tasks.evaluate(model, task, x, task.y[:64])
    assert model.training  # evaluate leaves the mode as it found it
    model.eval()
    assert torch.equal(model(x), model(x))
    assert score == tasks.accuracy(model, x, task.y[:64])
    assert sum(isinstance(m, torch.nn.Dropout) and m.p == 0.5 for m in model.modules()) == 2


def test_clean8_is_standardised_on_its_training_split_with_clean_balanced_labels():
    x, y, xt, yt = tasks._data("clean8")
    assert yt.shape == (1000,)
    assert x.shape == (2000, 20)
    assert xt.shape == (1000, 20)
    assert torch.allclose(x.mean(0), torch.zeros(20), atol=1e-5)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(20), atol=1e-4)
    assert set(y.tolist()) == set(range(8))
    assert min(torch.bincount(y).tolist()) > 200  # balanced: about 250 a class
    assert tasks.load_task("clean8-mlp-sgd").steps_per_epoch == 125  # batch 16


@pytest.mark.parametrize(
    ("name", "optimizer", "batch", "steps", "widths"),
    [
        ("digits-dropout-sgd", "sgd", 16, 88, [256, 256, 10]),
        ("digits-mlp-adam-b8", "adam", 8, 175, [64, 10]),
        ("digits-mlp-rmsprop", "rmsprop", 64, 22, [64, 10]),
        ("digits-deepmlp-sgd", "sgd", 64, 22, [64, 64, 64, 64, 64, 64, 10]),
    ],
)
def test_the_digits_variants_are_the_digits_data_in_their_own_batches(
    name, optimizer, batch, steps, widths
):
    task, plain = tasks.load_task(name), tasks.load_task("digits-mlp-sgd")
    assert torch.equal(task.x, plain.x)
    assert torch.equal(task.y_test, plain.y_test)
    assert task.batch_size == batch
    assert task.steps_per_epoch == steps  # 1400 examples
    assert task.spec.optimizer == optimizer
    assert task.spec.weight_decay == 0.0
    model = tasks.make_model(task.name)
    assert [m.out_features for m in model if isinstance(m, torch.nn.Linear)] == widths


def _on_the_data_of(name, other, batch, steps):
    """Tasks ``name`` and ``other``, the first checked to hold the second's data in its own
    batches."""
    task, base = tasks.load_task(name), tasks.load_task(other)
    assert torch.equal(task.x, base.x)
    assert torch.equal(task.y_test, base.y_test)
    assert (task.batch_size, task.steps_per_epoch) == (batch, steps)
    return task, base


def test_the_deep_digits_cnn_is_four_plain_convolutions_on_the_digits_images():
    task, _ = _on_the_data_of("digits-deepcnn-sgd", "digits-cnn-adam", 64, 22)
    assert (task.spec.optimizer, task.spec.weight_decay, task.spec.augment) == ("sgd", 0.0, False)
    torch.manual_seed(0)
    model = tasks.make_model(task.name)
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    shapes = [(m.in_channels, m.out_channels, m.kernel_size) for m in convs]
    assert shapes == [(1, 32, (3, 3))] + [(32, 32, (3, 3))] * 3
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert model(task.x[:5]).shape == (5, 10)


def test_the_layernorm_digits_mlp_is_three_normalised_gelu_layers_trained_by_adamw():
    task, _ = _on_the_data_of("digits-lnmlp-adamw", "digits-mlp-sgd", 32, 44)
    assert (task.spec.optimizer, task.spec.weight_decay) == ("adamw", 0.01)
    torch.manual_seed(0)
    model = tasks.make_model(task.name)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Linear", "LayerNorm", "GELU"] * 3 + ["Linear"]
    assert [m.out_features for m in model if isinstance(m, torch.nn.Linear)] == [128] * 3 + [10]
    assert model(task.x[:5]).shape == (5, 10)
    optimizer = tasks.make_optimizer(task.spec.optimizer, model.parameters(), 1e-3, 0.01)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["weight_decay"] == 0.01


def test_the_deep_mnist1d_mlp_is_eight_plain_relu_layers_on_the_cnn_s_data():
    task, _ = _on_the_data_of("mnist1d-deepmlp-sgd", "mnist1d-cnn-sgd", 128, 32)
    assert (task.spec.optimizer, task.spec.weight_decay) == ("sgd", 0.0)
    torch.manual_seed(0)
    model = tasks.make_model(task.name)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears] == [64] * 8 + [10]
    assert sum(isinstance(m, torch.nn.ReLU) for m in model.modules()) == 8
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert model(task.x[:5]).shape == (5, 10)  # the (n, 1, 40) signals are flattened


def test_diabetes_is_sklearn_s_bundled_data_shuffled_once_and_standardised_on_training():
    from sklearn import datasets

    x, y, xt, yt = tasks._data("diabetes")
    assert (x.shape, xt.shape, y.shape, yt.shape) == ((300, 10), (142, 10), (300,), (142,))
    assert torch.allclose(x.mean(0), torch.zeros(10), atol=1e-4)
    assert torch.allclose(x.std(0, unbiased=False), torch.ones(10), atol=1e-4)
    assert abs(float(y.mean())) < 1e-4
    assert abs(float(y.std(unbiased=False)) - 1.0) < 1e-4
    assert 0.5 < float(yt.std()) < 1.5  # the test split is on the training split's scale
    raw, target = datasets.load_diabetes(return_X_y=True)
    # every patient once, in one fixed shuffled order: the targets are the raw ones in that
    # order, shifted and scaled by the training split's mean and spread
    order = torch.randperm(442, generator=torch.Generator().manual_seed(0))
    shuffled = torch.tensor(target)[order]
    train = shuffled[:300]
    expect = (shuffled - train.mean()) / train.std(unbiased=False)
    assert torch.allclose(torch.cat([y, yt]).double(), expect, atol=1e-5)
    age = torch.tensor(raw[:, 0])[order][:300]  # the first feature, in the same order
    assert torch.allclose(x[:, 0].double(), (age - age.mean()) / age.std(unbiased=False), atol=1e-5)
    assert torch.equal(tasks._data("diabetes")[1], y)  # the shuffle is fixed
    task = tasks.load_task("diabetes-mlp-sgd")
    assert (task.batch_size, task.steps_per_epoch, task.metric) == (32, 10, "mse")
    torch.manual_seed(0)
    model = tasks.make_model("diabetes-mlp-sgd")
    assert model(x[:5]).shape == (5, 1)
    assert [m.out_features for m in model if isinstance(m, torch.nn.Linear)] == [64, 64, 1]


def test_the_gru_with_adam_is_the_motif_task_with_only_its_optimizer_changed():
    task, base = _on_the_data_of("motif-gru-adam", "motif-gru-sgd", 64, 32)
    assert torch.equal(task.y, base.y)
    assert (task.spec.optimizer, base.spec.optimizer) == ("adam", "sgd")
    assert (task.spec.model, task.spec.weight_decay) == (base.spec.model, 0.0)
    torch.manual_seed(0)
    model = tasks.make_model(task.name)
    torch.manual_seed(0)
    other = tasks.make_model(base.name)
    assert all(
        torch.equal(a, b) for a, b in zip(model.parameters(), other.parameters(), strict=True)
    )
    optimizer = tasks.make_optimizer(task.spec.optimizer, model.parameters(), 1e-3)
    assert type(optimizer) is torch.optim.Adam


def test_rmsprop_is_torch_s_own_at_its_defaults_without_momentum():
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = tasks.make_optimizer("rmsprop", params, 0.01, weight_decay=0.5)
    assert type(opt) is torch.optim.RMSprop
    group = opt.param_groups[0]
    assert (group["lr"], group["alpha"], group["momentum"]) == (0.01, 0.99, 0)
    assert group["weight_decay"] == 0.5
    with pytest.raises(ValueError, match=r"'rmsprop'.*Received: kind='rmsprop2'"):
        tasks.make_optimizer("rmsprop2", params, 0.01)


@pytest.mark.parametrize("name", GENERATED)
def test_generated_tasks_are_deterministic_and_fit_their_networks(name):
    a, b = tasks._data(tasks.SUITE[name].data), tasks._data(tasks.SUITE[name].data)
    assert all(torch.equal(u, v) for u, v in zip(a, b, strict=True))
    torch.manual_seed(0)
    model = tasks.make_model(name)
    out = model(a[0][:5])
    task = tasks.load_task(name)
    if task.metric == "mse":
        assert out.shape == (5, 1)
    else:
        assert out.shape == (5, int(a[1].max()) + 1)
    loss = task.loss_fn(out, a[1][:5])
    loss.backward()  # every parameter gets a gradient: nothing is left unused
    assert all(p.grad is not None for p in model.parameters())


def test_the_digits_cnn_task_is_the_digits_images_in_batches_of_32_without_normalisation():
    task, resnet = tasks.load_task("digits-cnn-adam"), tasks.load_task("digits-resnet-sgd")
    assert torch.equal(task.x, resnet.x)
    assert task.x.shape == (1400, 1, 8, 8)
    assert torch.equal(task.y_test, resnet.y_test)
    assert (task.batch_size, task.spec.optimizer) == (32, "adam")
    assert task.steps_per_epoch == 44  # 1400 examples
    torch.manual_seed(0)
    model = tasks.make_model(task.name)
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules())
    convs = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [16, 32]
    out = model(task.x[:5])
    assert out.shape == (5, 10)
    task.loss_fn(out, task.y[:5]).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_spirals_are_three_noisy_arms_of_three_turns_in_the_unit_disc():
    x, y, xt, _ = tasks._spirals()
    assert (x.shape, xt.shape) == ((12_000, 2), (3_000, 2))
    assert set(y.tolist()) == {0, 1, 2}
    assert min(torch.bincount(y).tolist()) > 3_700  # balanced: about 4,000 a class
    clean, y0, _, _ = tasks._spirals(noise=0.0)  # the same draws, without the noise
    assert torch.equal(y, y0)
    radius = clean.norm(dim=1)
    assert float(radius.max()) <= 1.0
    # Each clean point of class k at radius t lies at angle 2 pi (3 t + k / 3).
    implied = 2 * torch.pi * (3.0 * radius + y / 3.0)
    assert torch.allclose(clean[:, 0], radius * torch.cos(implied), atol=1e-5)
    assert torch.allclose(clean[:, 1], radius * torch.sin(implied), atol=1e-5)
    assert abs(float((x - clean).std()) - 0.03) < 0.002  # the Gaussian noise
    task = tasks.load_task("spirals-mlp-adam")
    assert (task.batch_size, task.spec.optimizer, task.steps_per_epoch) == (256, "adam", 47)


def test_hastie_is_the_sum_of_squares_rule_trained_by_sgd_without_momentum():
    x, y, xt, yt = tasks._data("hastie")
    assert (x.shape, xt.shape) == ((1_000, 10), (2_000, 10))
    for features, labels in ((x, y), (xt, yt)):
        # Hastie et al.'s rule: class 1 when the sum of squares exceeds chi2_10's median
        assert torch.equal(labels, ((features**2).sum(dim=1) > 9.34).long())
    assert 0.4 < float(y.float().mean()) < 0.6  # balanced by construction
    task = tasks.load_task("hastie-mlp-plainsgd")
    assert (task.batch_size, task.spec.optimizer, task.steps_per_epoch) == (64, "sgd-plain", 16)
    model = tasks.make_model("hastie-mlp-plainsgd")
    opt = tasks.make_optimizer("sgd-plain", model.parameters(), 0.1)
    assert opt.param_groups[0]["momentum"] == 0.0
    assert model(x[:3]).shape == (3, 2)


def test_digits_linear_is_logistic_regression_on_the_digits_split():
    task = tasks.load_task("digits-linear-sgd")
    assert torch.equal(task.x, tasks.load_task("digits-mlp-sgd").x)  # the same split
    assert (task.batch_size, task.spec.optimizer, task.steps_per_epoch) == (32, "sgd", 44)
    model = tasks.make_model("digits-linear-sgd")
    layers = [m for m in model.modules() if len(list(m.children())) == 0]
    assert len(layers) == 1
    assert isinstance(layers[0], torch.nn.Linear)
    assert (layers[0].in_features, layers[0].out_features) == (64, 10)


def test_digits_ae_reconstructs_its_centred_input_through_a_bottleneck():
    x, y, xt, yt = tasks._data("digits-ae")
    assert torch.equal(x, y)  # the target is the input
    assert torch.equal(xt, yt)
    assert (x.shape, xt.shape) == ((1_400, 64), (397, 64))
    assert float(x.mean(0).abs().max()) < 1e-5  # centred on the training mean image
    task = tasks.load_task("digits-ae-adam")
    assert (task.batch_size, task.spec.optimizer, task.metric) == (64, "adam", "mse")
    assert task.chance == pytest.approx(float((xt**2).mean()))  # predicting the mean image
    model = tasks.make_model("digits-ae-adam")
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [32, 8, 32, 64]
    out = model(x[:5])
    assert out.shape == (5, 64)
    assert task.loss_fn(out, y[:5]).shape == ()  # one number over every pixel


def _shares_the_pretrained_body(name, pre, head):
    """Two seeds' models of fine-tuning task ``name``: the same pretrained body, each its own
    new head (the layer whose keys start with ``head``). Returns the first."""
    torch.manual_seed(0)
    a = tasks.make_model(name)
    torch.manual_seed(1)
    b = tasks.make_model(name)
    for k, v in a.state_dict().items():
        assert torch.equal(v, b.state_dict()[k]) == (not k.startswith(head)), k
        if not k.startswith(head):
            assert torch.equal(v, pre[k])
    assert any(k.startswith(head) for k in a.state_dict())
    return a


def _two_optimizers(name, settings, sgd_name):
    """Fine-tuning task ``name`` has ``(batch, optimizer, weight decay)`` ``settings``, and
    ``sgd_name`` is the same data and network with SGD 0.9 at batch 32."""
    task, sgd = tasks.load_task(name), tasks.load_task(sgd_name)
    assert (task.batch_size, task.spec.optimizer, task.spec.weight_decay) == settings
    assert torch.equal(sgd.x, task.x)
    assert (sgd.batch_size, sgd.spec.optimizer, sgd.spec.model) == (32, "sgd", task.spec.model)


def test_digits_finetune_starts_from_weights_pretrained_on_other_digits():
    x, y, _, yt = tasks._data("digits-few")
    full_x, full_y, _, _ = tasks._data("digits-images")
    assert len(x) == tasks.FEW_SHOT
    assert set(y.tolist()) == set(yt.tolist()) == set(range(5))
    assert torch.equal(x, full_x[full_y >= 5][: tasks.FEW_SHOT])  # digits 5-9, relabelled 0-4
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    pre = tasks.pretrained_digits_cnn()
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG untouched
    # pretrained on digits 0-4: it tells them apart
    early = full_y < 5
    net = tasks._cnn_digits(5)
    net.load_state_dict(pre)
    assert tasks.accuracy(net, full_x[early], full_y[early]) > 0.95
    a = _shares_the_pretrained_body("digits-finetune-adamw", pre, head="8.")
    assert a(x[:3]).shape == (3, 5)
    _two_optimizers("digits-finetune-adamw", (16, "adamw", 0.01), "digits-finetune-sgd")


def test_mnist1d_finetune_starts_from_a_cnn_pretrained_on_other_classes():
    x, y, xt, yt = tasks._data("mnist1d-few")
    full_x, full_y, full_xt, full_yt = tasks._data("mnist1d")
    assert len(x) == tasks.FEW_SHOT_1D
    assert set(y.tolist()) == set(yt.tolist()) == set(range(5))
    assert torch.equal(x, full_x[full_y >= 5][: tasks.FEW_SHOT_1D])  # classes 5-9 as 0-4
    assert torch.equal(xt, full_xt[full_yt >= 5])  # every test signal of classes 5-9
    torch.manual_seed(7)
    state = torch.random.get_rng_state()
    pre = tasks.pretrained_mnist1d_cnn()
    assert torch.equal(torch.random.get_rng_state(), state)  # the caller's RNG untouched
    assert tasks.pretrained_mnist1d_cnn() is pre  # computed once per process
    # pretrained on classes 0-4: it tells their test signals apart
    net = tasks._cnn1d(5)
    net.load_state_dict(pre)
    early = full_yt < 5
    assert tasks.accuracy(net, full_xt[early], full_yt[early]) > 0.85
    a = _shares_the_pretrained_body("mnist1d-finetune-adam", pre, head="7.")
    assert a(x[:3]).shape == (3, 5)
    _two_optimizers("mnist1d-finetune-adam", (32, "adam", 0.0), "mnist1d-finetune-sgd")


def test_train_under_the_guard_repeats_a_quiet_run_and_rescues_a_collapsing_one():
    task = tasks.load_task("digits-linear-sgd")
    quiet = tasks.train(task, 0.05, epochs=4, seed=0, record=False)
    guarded = tasks.train(task, 0.05, epochs=4, seed=0, record=False, guard={})
    assert guarded.fired == ()
    assert guarded.scores == quiet.scores
    assert guarded.train_losses == quiet.train_losses
    # a rate far past the edge: the loss turns non-finite in the first epoch; the unguarded
    # run is marked diverged at once, the guarded one restores and halves three times first
    mlp = tasks.load_task("digits-mlp-sgd")
    wild = tasks.train(mlp, 1e10, epochs=5, seed=0, record=False)
    saved = tasks.train(mlp, 1e10, epochs=5, seed=0, record=False, guard={})
    assert wild.diverged
    assert wild.scores == [mlp.chance] * 5
    assert saved.fired == (0, 1, 2)
    assert saved.diverged  # 1e10 / 8 is still far past the edge: at epoch 3 no try is left


def test_a_validation_split_comes_off_the_training_set_and_is_scored_every_epoch():
    task = tasks.load_task("diabetes-mlp-sgd")
    sub, (xv, yv) = tasks.validation_split(task, 2)
    assert (len(sub.x), len(xv)) == (300 - 64, 64)
    assert torch.equal(torch.cat([sub.x, xv]), task.x)
    assert torch.equal(sub.x_test, task.x_test)  # the test set is left as it was
    assert sub.steps_per_epoch == 8
    run = tasks.train(sub, 0.005, epochs=3, seed=0, record=False, val=(xv, yv))
    plain = tasks.train(sub, 0.005, epochs=3, seed=0, record=False)
    assert run.scores == plain.scores  # scoring the split does not change the training
    assert len(run.val_scores) == 3
    assert plain.val_scores == []
    assert run.val_scores[-1] < float((yv**2).mean())  # it learned something the split sees
    wild = tasks.train(sub, 1e10, epochs=2, seed=0, record=False, val=(xv, yv))
    assert wild.diverged
    assert math.isnan(wild.val_scores[-1])
    with pytest.raises(ValueError, match="n_batches"):
        tasks.validation_split(task, 10)  # all 300 examples would go


def test_a_probe_sees_the_model_after_every_epoch_and_changes_nothing():
    task = tasks.load_task("diabetes-mlp-sgd")
    seen = []

    def probe(model):
        seen.append(model.training)
        return float(sum(p.detach().abs().sum() for p in model.parameters()))

    run = tasks.train(task, 0.005, epochs=3, seed=0, record=False, probe=probe)
    plain = tasks.train(task, 0.005, epochs=3, seed=0, record=False)
    assert run.scores == plain.scores  # the probe does not change the training
    assert plain.probes == []
    assert len(run.probes) == 3
    assert seen == [True] * 3  # the model is handed over in training mode
    assert run.probes[0] != run.probes[-1]  # it saw the weights move
    wild = tasks.train(task, 1e10, epochs=2, seed=0, record=False, probe=probe)
    assert wild.diverged
    assert wild.probes[-1] is None  # nothing is probed once the run has diverged


def test_shift_moves_each_image_by_at_most_a_pixel_with_a_zero_border():
    images = torch.arange(1.0, 17.0).reshape(1, 1, 4, 4).repeat(64, 2, 1, 1)  # two channels
    moved = tasks.shift(images, torch.Generator().manual_seed(3))
    assert moved.shape == images.shape
    seen = set()
    for one, out in zip(images, moved, strict=True):
        # find the move: the pixel 6 (row 1, column 1) lands at row 1 + down, column 1 + across
        (r,), (c,) = torch.nonzero(out[0] == 6.0, as_tuple=True)
        down, across = int(r) - 1, int(c) - 1
        assert down in (-1, 0, 1)
        assert across in (-1, 0, 1)
        seen.add((down, across))
        want = torch.zeros_like(one)
        rows = slice(max(down, 0), 4 + min(down, 0))
        cols = slice(max(across, 0), 4 + min(across, 0))
        src_rows = slice(max(-down, 0), 4 - max(down, 0))
        src_cols = slice(max(-across, 0), 4 - max(across, 0))
        want[:, rows, cols] = one[:, src_rows, src_cols]
        assert torch.equal(out, want)  # both channels moved alike, the border filled with 0
    assert len(seen) == 9  # every move occurs in 64 draws
    again = tasks.shift(images, torch.Generator().manual_seed(3))
    assert torch.equal(moved, again)  # drawn from the generator alone


def test_the_augmented_task_moves_training_batches_only_and_others_are_unchanged():
    aug, plain = tasks.load_task("digits-aug-nesterov"), tasks.load_task("digits-cnn-adam")
    assert torch.equal(aug.x, plain.x)
    assert torch.equal(aug.x_test, plain.x_test)
    assert (aug.batch_size, aug.steps_per_epoch) == (32, 44)
    a = tasks.batches(aug, torch.Generator().manual_seed(0))
    b = tasks.batches(plain, torch.Generator().manual_seed(0))
    (xa, ya), (xb, yb) = next(a), next(b)
    assert torch.equal(ya, yb)  # the same shuffle: the moves are drawn after it
    assert not torch.equal(xa, xb)
    assert torch.equal(xa.sum((1, 2, 3)) <= xb.sum((1, 2, 3)) + 1e-5, torch.ones(32, dtype=bool))
    # a task that does not augment draws nothing more: its batches are the plain shuffle
    g = torch.Generator().manual_seed(0)
    perm = torch.randperm(len(plain.x), generator=g)
    assert torch.equal(xb, plain.x[perm[:32]])


def test_the_augmented_task_trains_nesterov_sgd_with_weight_decay_and_label_smoothing():
    task = tasks.load_task("digits-aug-nesterov")
    spec = task.spec
    assert (spec.optimizer, spec.weight_decay, spec.label_smoothing) == ("sgd-nesterov", 5e-4, 0.1)
    params = [torch.nn.Parameter(torch.zeros(3))]
    opt = tasks.make_optimizer(spec.optimizer, params, 0.05, spec.weight_decay)
    group = opt.param_groups[0]
    assert (group["momentum"], group["nesterov"], group["weight_decay"]) == (0.9, True, 5e-4)
    logits, target = torch.tensor([[4.0, 0.0, -1.0]]), torch.tensor([0])
    smooth = torch.nn.functional.cross_entropy(logits, target, label_smoothing=0.1)
    assert torch.allclose(task.loss_fn(logits, target), smooth)
    assert task.loss_fn(logits, target) > torch.nn.functional.cross_entropy(logits, target)
    plain = tasks.load_task("digits-cnn-adam")
    assert torch.allclose(
        plain.loss_fn(logits, target), torch.nn.functional.cross_entropy(logits, target)
    )
    model = tasks.make_model(task.name)
    assert [m.out_features for m in model if isinstance(m, torch.nn.Linear)] == [64, 10]


@pytest.mark.parametrize(
    ("name", "optimizer", "batch", "steps", "weight_decay"),
    [
        ("digits-augmlp-adam", "adam", 32, 44, 0.0),
        ("digits-augresnet-sgd", "sgd", 64, 22, 5e-4),
    ],
)
def test_the_augmented_variants_train_on_moved_digits_images(
    name, optimizer, batch, steps, weight_decay
):
    task = tasks.load_task(name)
    assert task.spec.augment
    assert task.spec.label_smoothing == 0.0
    assert (task.spec.optimizer, task.batch_size, task.steps_per_epoch) == (optimizer, batch, steps)
    assert task.spec.weight_decay == weight_decay
    assert task.x.shape == (1400, 1, 8, 8)
    torch.manual_seed(0)
    out = tasks.make_model(name)(task.x[:5])
    assert out.shape == (5, 10)
    xb, _ = next(tasks.batches(task, torch.Generator().manual_seed(0)))
    perm = torch.randperm(1400, generator=torch.Generator().manual_seed(0))
    assert not torch.equal(xb, task.x[perm[:batch]])  # moved
