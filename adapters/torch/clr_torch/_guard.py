"""`CollapseGuard` for PyTorch: the core's collapse guard driving a model and its optimizer.

Requirements this module is written against:

* no decision here: when to keep a copy, when to restore it and the factor on the rates
  are :class:`clr_core.rangetest.CollapseGuard`'s; this module holds the copies, restores
  them and applies the factor;
* the factor applies to any scheduler, or none: an optimizer step pre-hook multiplies each
  group's rate by :attr:`CollapseGuard.scale` for the length of ``optimizer.step()`` and a
  post-hook puts the scheduler's own value back, so a chainable scheduler never compounds it
  and a run on which the guard never fires is the unguarded run, bit for bit;
* a restore rewinds the weights, the buffers, the optimizer's state (moments, momentum
  buffers, step counts) and a ``GradScaler``, but not the schedule's time, the group
  hyper-parameters the scheduler set, or the RNG: the run goes on from where it is, with the
  last good weights and smaller rates;
* the state is tensors and plain data (``torch.load(weights_only=True)`` reads it), a resume
  is exact, and a state dict is untrusted: it is checked against this model and optimizer
  before anything changes, so a refused load leaves everything as it was.
"""

from __future__ import annotations

import numbers
import weakref
from collections.abc import Mapping
from typing import Any

import torch
from torch.optim import Optimizer

from clr_core.rangetest import CollapseGuard as _Decision
from clr_core.validation import fail, instance, integer, real

from ._rangetest import _clone

__all__ = ["CollapseGuard"]

_STATE_FORMAT = "clr_torch.CollapseGuard/1"
_STATE_KEYS = frozenset(("format", "guard", "model", "optimizer", "scaler"))
#: A GradScaler state's numbers: the counts and their least values, the reals and their
#: open bounds (what its constructor asserts); another key must be a finite real.
_SCALER_COUNTS = {"growth_interval": 1, "_growth_tracker": 0}
_SCALER_REALS: dict[str, tuple[float | None, float | None]] = {
    "scale": (0.0, None),
    "growth_factor": (1.0, None),
    "backoff_factor": (0.0, 1.0),
}


def _copy(value: Any, device: torch.device | None) -> Any:
    """A detached copy of every tensor in ``value`` (on ``device`` when given)."""
    value = _clone(value)
    if device is None:
        return value
    if isinstance(value, torch.Tensor):
        return value.to(device)
    if isinstance(value, dict):
        return {k: _copy(v, device) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copy(v, device) for v in value)
    return value


def _plain(name: str, value: Any, depth: int = 0) -> None:
    """A value of an optimizer's per-parameter state: a tensor, a number, a bool, None, a
    string, or a list/tuple of those (L-BFGS keeps lists of tensors), two levels at most;
    finite, as a copy of a good epoch is."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise fail(name, "finite (a copy of a good epoch)", "a tensor with non-finite values")
        return
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        real(name, value)  # finite, and not an int beyond the floats
        return
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, (list, tuple)) and depth < 2:
        for i, item in enumerate(value):
            _plain(f"{name}[{i}]", item, depth + 1)
        return
    raise fail(name, "a tensor, a number, None or a list of them", value, TypeError)


class CollapseGuard:
    r"""Restores the last good epoch and lowers the rates when training collapses.

    After every epoch, :meth:`step` is fed the epoch's mean training loss :math:`L_e`. With
    :math:`L^*` the lowest so far and :math:`L_1` the first, an epoch **loses its progress**
    when :math:`L_e > L^* + \text{lost}\,(L_1 - L^*)` or :math:`L_e` is not finite. After
    ``streak`` such epochs in a row (at once for a non-finite loss) the guard loads the copy
    of the model and optimizer it took after the last epoch that passed, and from then on
    every optimizer step runs at the scheduler's rate times :attr:`scale`
    (:math:`\text{backoff}^k` after :math:`k` restores, ``tries`` at most). The decision is
    :class:`clr_core.rangetest.CollapseGuard`'s (:attr:`decision`).

    Parameters
    ----------
    optimizer : Optimizer
    model : torch.nn.Module
        The module whose ``state_dict()`` the guard copies (under DDP, the wrapped module or
        the wrapper: either holds every parameter and buffer).
    scaler : torch.amp.GradScaler, optional
        Copied and restored with the model (a collapse under AMP leaves its scale wrecked).
    offload : bool
        Keep the copies in CPU memory instead of beside the tensors they copy.
    **rule
        ``lost``, ``streak``, ``backoff``, ``tries``, ``rise``:
        :class:`clr_core.rangetest.CollapseGuard`'s keywords, with its defaults.

    Notes
    -----
    * The guard holds one copy of the model's state and the optimizer's state (twice the
      model's memory for Adam), taken on construction and after every epoch that passes.
    * ``param_group["lr"]`` keeps the scheduler's value; the step uses it times
      :attr:`scale`. Schedules, their time and the RNG are not rewound by a restore.
    * A guard stops scaling once :meth:`remove` is called or it is garbage-collected.
    * Under DDP, feed every rank the same (all-reduced) loss, so all ranks decide alike.

    Examples
    --------
    >>> model = torch.nn.Linear(4, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> guard = CollapseGuard(opt, model)
    >>> [guard.step(loss) for loss in (2.3, 0.9, 0.5, 1.9, 2.0)]
    ['keep', 'keep', 'keep', 'wait', 'restore']
    >>> guard.scale, guard.fired
    (0.5, (4,))
    """

    def __init__(
        self,
        optimizer: Optimizer,
        model: torch.nn.Module,
        *,
        scaler: Any = None,
        offload: bool = False,
        **rule: Any,
    ) -> None:
        self.decision = _Decision(**rule)  # the rule's defaults and checks live in the core
        self.optimizer = instance("optimizer", optimizer, Optimizer, "a torch.optim.Optimizer")
        self.model = instance("model", model, torch.nn.Module, "a torch.nn.Module")
        if scaler is not None and not all(
            callable(getattr(scaler, name, None)) for name in ("state_dict", "load_state_dict")
        ):
            raise fail("scaler", "a torch.amp.GradScaler or None", scaler, TypeError)
        self.scaler = scaler
        if not isinstance(offload, bool):
            raise fail("offload", "a bool", offload, TypeError)
        self.offload = offload
        self._take()
        self._scaled: list[tuple[dict[str, Any], Any, Any]] = []  # (group, original, written)
        ref = weakref.ref(self)

        def before(opt: Any, args: Any, kwargs: Any) -> None:
            guard = ref()
            if guard is not None:
                guard._scale_rates()

        def after(opt: Any, args: Any, kwargs: Any) -> None:
            guard = ref()
            if guard is not None:
                guard._unscale_rates()

        self._handles = [
            optimizer.register_step_pre_hook(before),
            optimizer.register_step_post_hook(after),
        ]
        for handle in self._handles:  # the hooks go with the guard
            weakref.finalize(self, handle.remove)

    # ------------------------------------------------------------------ the decision

    @property
    def scale(self) -> float:
        """The factor on every rate now: ``backoff`` to the number of restores."""
        return self.decision.scale

    @property
    def fired(self) -> tuple[int, ...]:
        """The epochs (counted from 0) at which the guard restored a copy."""
        return self.decision.fired

    @property
    def diverged(self) -> bool:
        """Whether the last epoch's loss was not finite with no restore left to try."""
        return self._diverged

    def step(self, loss: Any) -> str:
        """Feed the mean training loss of the epoch just ended (a float or a tensor).

        Returns the action taken: ``"keep"`` (a copy was taken), ``"wait"``, ``"restore"``
        (the last copy was loaded and :attr:`scale` lowered) or ``"diverged"`` (a non-finite
        loss and no restore left: stop training).
        """
        if isinstance(loss, torch.Tensor):
            loss = loss.detach()
            if loss.numel() != 1:
                raise fail("loss", "one number (the epoch's mean loss)", loss, TypeError)
            loss = loss.item()
        action = self.decision.update(loss)
        self._diverged = action == "diverged"
        if action == "keep":
            self._take()
        elif action == "restore":
            self._restore()
        return action

    # ------------------------------------------------------------------ the copies

    def _take(self) -> None:
        device = torch.device("cpu") if self.offload else None
        self._model_copy = _copy(self.model.state_dict(), device)
        self._optimizer_copy = _copy(self.optimizer.state_dict()["state"], device)
        self._scaler_copy = None if self.scaler is None else _clone(self.scaler.state_dict())
        self._diverged = False

    def _restore(self) -> None:
        opt = self.optimizer
        groups = list(opt.param_groups)
        current = opt.state_dict()["param_groups"]  # the scheduler's values stay
        opt.load_state_dict({"state": _clone(self._optimizer_copy), "param_groups": current})
        opt.param_groups[:] = groups  # the same group dicts (a tensor rate keeps its identity)
        self.model.load_state_dict(self._model_copy)
        if self.scaler is not None and self._scaler_copy:  # a disabled scaler has no state
            self.scaler.load_state_dict(_clone(self._scaler_copy))

    # ------------------------------------------------------------------ the rates

    def _scale_rates(self) -> None:
        self._unscale_rates()  # a step that raised left its rates scaled
        scale = self.decision.scale
        if scale == 1.0:
            return
        for group in self.optimizer.param_groups:
            lr = group["lr"]
            if isinstance(lr, torch.Tensor):
                original = lr.detach().clone()
                with torch.no_grad():
                    lr.mul_(scale)
                self._scaled.append((group, original, lr.detach().clone()))
            else:
                written = lr * scale
                group["lr"] = written
                self._scaled.append((group, lr, written))

    def _unscale_rates(self) -> None:
        scaled, self._scaled = self._scaled, []
        for group, original, written in scaled:
            lr = group.get("lr")
            if isinstance(lr, torch.Tensor):
                if isinstance(written, torch.Tensor) and torch.equal(lr, written):
                    with torch.no_grad():
                        lr.copy_(original)
            elif lr is written:  # unless something else wrote a rate since
                group["lr"] = original

    def remove(self) -> None:
        """Remove the optimizer hooks: the rates are no longer scaled."""
        self._unscale_rates()
        for handle in self._handles:
            handle.remove()

    # ------------------------------------------------------------------ state

    def state_dict(self) -> dict[str, Any]:
        """The decision (plain data) and the copies (tensors): a checkpoint of the guard."""
        return {
            "format": _STATE_FORMAT,
            "guard": self.decision.state_dict(),
            "model": self._model_copy,
            "optimizer": self._optimizer_copy,
            "scaler": self._scaler_copy,
        }

    def load_state_dict(self, state_dict: Any) -> None:
        """Check everything against this model and optimizer, then restore (a refused state
        changes nothing). Load the optimizer's own state first: the copy is checked against
        the shapes of its state where it has one."""
        if not isinstance(state_dict, Mapping) or state_dict.get("format") != _STATE_FORMAT:
            raise fail(
                "state_dict",
                f"a CollapseGuard.state_dict() ({_STATE_FORMAT})",
                type(state_dict).__name__,
            )
        if set(state_dict) != _STATE_KEYS:
            keys = sorted(map(str, state_dict))
            raise fail("state_dict", f"a dict with exactly the keys {sorted(_STATE_KEYS)}", keys)
        decision = _Decision.from_state_dict(state_dict["guard"])
        model_copy = self._check_model(state_dict["model"])
        optimizer_copy = self._check_optimizer(state_dict["optimizer"])
        scaler_copy = self._check_scaler(state_dict["scaler"])
        self.decision = decision
        self._model_copy, self._optimizer_copy = model_copy, optimizer_copy
        self._scaler_copy = scaler_copy
        self._diverged = False

    def _check_model(self, copy: Any) -> dict[str, torch.Tensor]:
        own = self.model.state_dict()
        if not isinstance(copy, Mapping):
            raise fail("state_dict['model']", "a model's state_dict()", copy, TypeError)
        if set(copy) != set(own):
            odd = sorted(map(str, set(copy) ^ set(own)))
            raise fail("state_dict['model']", "this model's state_dict() keys", f"differs in {odd}")
        for key, tensor in own.items():
            value = copy[key]
            if not isinstance(tensor, torch.Tensor):  # a module's extra state
                if type(value) is not type(tensor):
                    raise fail(
                        f"state_dict['model'][{key!r}]", type(tensor).__name__, value, TypeError
                    )
                continue
            if not isinstance(value, torch.Tensor):
                raise fail(f"state_dict['model'][{key!r}]", "a tensor", value, TypeError)
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                raise fail(f"state_dict['model'][{key!r}]", "finite (a copy of a good epoch)",
                           "a tensor with non-finite values")  # fmt: skip
            if value.shape != tensor.shape or value.dtype != tensor.dtype:
                raise fail(
                    f"state_dict['model'][{key!r}]",
                    f"a {tensor.dtype} tensor of shape {tuple(tensor.shape)}",
                    f"{value.dtype} {tuple(value.shape)}",
                )
        return dict(copy)

    def _check_optimizer(self, copy: Any) -> dict[int, dict[str, Any]]:
        name = "state_dict['optimizer']"
        params = [p for g in self.optimizer.param_groups for p in g["params"]]
        if not isinstance(copy, Mapping):
            raise fail(name, "the optimizer's per-parameter state (a dict)", copy, TypeError)
        checked: dict[int, dict[str, Any]] = {}
        for index, state in copy.items():
            if isinstance(index, bool) or not isinstance(index, int):
                raise fail(f"{name} key", "a parameter's index (an int)", index, TypeError)
            if not 0 <= index < len(params):
                raise fail(f"{name} key", f"a parameter's index in [0, {len(params)})", index)
            where = f"{name}[{index}]"
            if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
                raise fail(where, "a dict with str keys", state, TypeError)
            own = self.optimizer.state.get(params[index])
            if own and set(own) != set(state):
                raise fail(where, f"this optimizer's state keys {sorted(own)}", sorted(state))
            for key, value in state.items():
                _plain(f"{where}[{key!r}]", value)
                mine = own.get(key) if own else None
                if isinstance(mine, torch.Tensor) and (
                    not isinstance(value, torch.Tensor)
                    or value.shape != mine.shape
                    or value.dtype.is_floating_point != mine.dtype.is_floating_point
                ):
                    raise fail(
                        f"{where}[{key!r}]",
                        f"a tensor of shape {tuple(mine.shape)} like this optimizer's",
                        value,
                    )
            checked[index] = dict(state)
        return checked

    def _check_scaler(self, copy: Any) -> dict[str, Any] | None:
        name = "state_dict['scaler']"
        if self.scaler is None:
            if copy is not None:
                raise fail(name, "None (this guard has no scaler)", copy, TypeError)
            return None
        own = self.scaler.state_dict()
        if not isinstance(copy, Mapping) or set(copy) != set(own):
            keys = sorted(map(str, copy)) if isinstance(copy, Mapping) else copy
            raise fail(name, f"this scaler's state_dict() with the keys {sorted(own)}", keys)
        checked: dict[str, float] = {}
        for key, value in copy.items():
            where = f"{name}[{key!r}]"
            if isinstance(value, torch.Tensor) and value.numel() == 1:
                value = value.item()
            if key in _SCALER_COUNTS:  # GradScaler's own constraints
                checked[key] = integer(where, value, low=_SCALER_COUNTS[key])
                if not isinstance(value, int):
                    raise fail(where, "an int", value, TypeError)
            else:
                low, high = _SCALER_REALS.get(key, (None, None))
                checked[key] = real(where, value, low=low, high=high, low_open=low is not None,
                                    high_open=high is not None)  # fmt: skip
        return checked

    def __repr__(self) -> str:
        d = self.decision
        return (
            f"CollapseGuard({type(self.optimizer).__name__}, {type(self.model).__name__}, "
            f"lost={d.lost!r}, streak={d.streak!r}, backoff={d.backoff!r}, "
            f"tries={d.tries!r}, rise={d.rise!r}, offload={self.offload!r})"
        )
