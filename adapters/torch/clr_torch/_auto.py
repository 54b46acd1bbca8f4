"""`AutoOneCycleLR`: a 1cycle that finds its own peak during the run (no range test).

Requirements this module is written against:

* no reading here: the ramp, the stop rule, the reading of the edge and the anneal
  are :class:`clr_core.rangetest.AutoOneCycle`'s; this module writes its rate and
  momentum into the optimizer and feeds it each step's loss;
* ``step(loss)`` takes the training loss of the optimizer step just taken (a
  float or a tensor; under DDP pass the all-reduced loss so every rank decides
  alike); ``step()`` without a loss after the decision is fine, before it raises;
* the state is plain data (``torch.load(weights_only=True)`` reads a checkpoint);
  a resumed run continues with the identical rates; a refused state changes nothing.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from clr_core.rangetest import AutoOneCycle
from clr_core.validation import fail, short_repr

from ._scheduler import _field, _put_momentum, momentum_key_for, state_int, state_reals

__all__ = ["AutoOneCycleLR"]

_STATE_FORMAT = "clr_torch.AutoOneCycleLR/1"
_STATE_KEYS = frozenset(
    ("format", "auto", "last_epoch", "momentum_key", "ratios", "base_lrs", "_last_lr")
)


class AutoOneCycleLR(LRScheduler):
    """1cycle over ``total_steps`` whose peak is read off its own warm-up.

    Parameters
    ----------
    optimizer : Optimizer
    total_steps : int
        The budget in optimizer steps.
    momentum_key : str, optional
        The param-group key of momentum / beta1 when the optimizer is not in
        :data:`clr_torch.MOMENTUM_KEYS`; ignored with ``momentum=None``.
    **kwargs
        The ramp and the rule (:class:`clr_core.rangetest.AutoOneCycle`):
        ``start_lr``, ``end_lr``, ``ramp_fraction``, ``peak_factor``,
        ``final_div_factor``, ``momentum`` (``None``: leave it alone), ``rise``.

    Notes
    -----
    Every param group runs at the plan's rate times its own initial rate over
    group 0's (groups keep their ratios).

    Examples
    --------
    >>> model = torch.nn.Linear(4, 1)
    >>> opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> sched = AutoOneCycleLR(opt, total_steps=200, start_lr=1e-4, end_lr=1.0)
    >>> for _ in range(200):
    ...     loss = model(torch.randn(8, 4)).pow(2).mean()
    ...     opt.zero_grad(); loss.backward(); opt.step()
    ...     sched.step(loss)
    >>> sched.auto.decided
    True
    """

    def __init__(
        self,
        optimizer: Optimizer,
        total_steps: int,
        *,
        momentum_key: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.auto = AutoOneCycle(total_steps, **kwargs)
        self.momentum_key = (
            None if self.auto.momentum is None else momentum_key_for(optimizer, momentum_key)
        )
        ref = [float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        self.ratios = [r / ref[0] if ref[0] > 0 else 1.0 for r in ref]
        for g in optimizer.param_groups:
            g.setdefault("initial_lr", float(g["lr"]))
        super().__init__(optimizer, last_epoch=-1)

    def get_lr(self) -> list[float]:  # type: ignore[override]
        lr = self.auto.lr(max(0, self.last_epoch))
        return [lr * r for r in self.ratios]

    def _write_momentum(self) -> None:
        m = self.auto.momentum_at(max(0, self.last_epoch))
        if m is None or self.momentum_key is None:
            return
        for g in self.optimizer.param_groups:  # a tensor is filled in place, as ScheduleLR does
            _put_momentum(g, self.momentum_key, m)

    def step(self, loss: Any = None, epoch: None = None) -> None:  # type: ignore[override]
        """Feed the loss of the optimizer step just taken, and move to the next step."""
        if epoch is not None:
            raise TypeError("AutoOneCycleLR.step() takes the step's loss, not an epoch.")
        if getattr(self, "_initial_step_done", False):
            if loss is not None:
                value = float(loss.detach()) if isinstance(loss, torch.Tensor) else float(loss)
                self.auto.update(self.last_epoch, value)
            elif not self.auto.decided:
                raise ValueError(
                    "AutoOneCycleLR.step(loss) needs the training loss until the peak is found "
                    f"(step {self.last_epoch} of the ramp)."
                )
        self._initial_step_done = True
        super().step()
        # torch keeps a tensor-valued rate as a tensor; the rates are floats here, as in
        # ScheduleLR (no device sync, and a state_dict of plain data)
        self._last_lr = list(self.get_lr())
        self._write_momentum()

    def state_dict(self) -> dict[str, Any]:
        return {
            "format": _STATE_FORMAT,
            "auto": self.auto.state_dict(),
            "last_epoch": self.last_epoch,
            "momentum_key": self.momentum_key,
            "ratios": list(self.ratios),
            "base_lrs": [float(v) for v in self.base_lrs],
            "_last_lr": [float(v) for v in self._last_lr],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Validate everything, then restore (a refused state changes nothing)."""
        if not isinstance(state_dict, dict) or state_dict.get("format") != _STATE_FORMAT:
            raise ValueError(
                f"Argument `state_dict` must be an AutoOneCycleLR.state_dict() "
                f"({_STATE_FORMAT}). Received: state_dict={type(state_dict).__name__}"
            )
        unknown = set(state_dict) - _STATE_KEYS
        if unknown:
            raise fail(
                "state_dict",
                f"a dict with the keys {sorted(_STATE_KEYS)}",
                sorted(map(str, unknown)),
            )
        auto = AutoOneCycle.from_state_dict(state_dict.get("auto"))
        last = state_int(_field("last_epoch"), state_dict.get("last_epoch"), 0)
        if not auto.decided and last != auto.monitor.step_index:
            raise fail(
                _field("last_epoch"), f"the ramp's points so far ({auto.monitor.step_index})", last
            )
        if auto.decided_at is not None and last < auto.decided_at:
            raise fail(_field("last_epoch"), f">= the decision step {auto.decided_at}", last)
        if state_dict.get("momentum_key") != self.momentum_key:
            raise ValueError(
                "Argument `momentum_key` must be this scheduler's "
                f"({self.momentum_key!r}). Received: {short_repr(state_dict.get('momentum_key'))}"
            )
        n = len(self.optimizer.param_groups)
        ratios = state_reals(_field("ratios"), state_dict.get("ratios"), n, 0.0)
        if ratios != self.ratios:
            raise fail(
                _field("ratios"),
                f"this optimizer's group rates over group 0's {self.ratios}",
                ratios,
            )
        base_lrs = state_reals(
            _field("base_lrs"), state_dict.get("base_lrs", self.base_lrs), n, 0.0
        )
        self.auto, self.last_epoch = auto, last
        self.base_lrs = [*base_lrs]
        self._last_lr = list(self.get_lr())
        for g, lr in zip(self.optimizer.param_groups, self._last_lr, strict=True):
            g["lr"] = lr
        self._write_momentum()
