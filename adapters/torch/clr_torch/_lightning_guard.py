"""`CollapseGuardCallback`: clr_torch's collapse guard as a Lightning callback.

Requirements this module is written against:

* Lightning stays optional: imported only when ``clr_torch.CollapseGuardCallback`` is first
  looked up (through :mod:`clr_torch._lightning`, which picks ``pytorch_lightning`` or
  ``lightning.pytorch``);
* no decision and no copies here: :class:`clr_torch.CollapseGuard` holds the copies of the
  module, the optimizer and the precision plugin's ``GradScaler``, scales the rates and asks
  the core; this callback feeds it each epoch's mean training loss (the losses the
  ``training_step`` returned), averaged over the ranks under DDP, so every rank decides alike;
* a non-finite loss with no restore left stops the fit (``trainer.should_stop``);
* its state goes into Lightning checkpoints and is checked before anything changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from clr_core.rangetest import CollapseGuard as _Decision
from clr_core.validation import fail

from ._guard import CollapseGuard
from ._lightning import _Callback, _loss_of

__all__ = ["CollapseGuardCallback"]


class CollapseGuardCallback(_Callback):  # type: ignore[misc]
    r"""Restores the last good epoch and lowers the rates when training collapses (Lightning).

    At the end of every training epoch the mean of the losses ``training_step`` returned goes
    to a :class:`clr_torch.CollapseGuard` over the module and its optimizer, made at fit start
    (:attr:`guard`). When two epochs in a row lose half the progress made since the first and
    rise more than a tenth above the best (or the loss is not finite), it loads the copy taken
    after the last good epoch and runs every later optimizer step at the scheduler's rate times
    :attr:`CollapseGuard.scale`. With no restore left, a non-finite loss stops the fit.

    Parameters
    ----------
    offload : bool
        Keep the copies in CPU memory.
    **rule
        ``lost``, ``streak``, ``backoff``, ``tries``, ``rise``:
        :class:`clr_core.rangetest.CollapseGuard`'s keywords, with its defaults.

    Notes
    -----
    One optimizer (automatic or manual optimization); ``training_step`` must return the loss
    (a tensor, or a dict with ``"loss"``). The guard holds a copy of the module's and the
    optimizer's state in memory, as :class:`clr_torch.CollapseGuard` does.
    """

    def __init__(self, *, offload: bool = False, **rule: Any) -> None:
        super().__init__()
        _Decision(**rule)  # checked now, with the core's messages
        if not isinstance(offload, bool):
            raise fail("offload", "a bool", offload, TypeError)
        self.offload = offload
        self.rule = dict(rule)
        self.guard: CollapseGuard | None = None
        self._pending: Any = None  # a checkpoint's state, loaded when the guard is made
        self._total: torch.Tensor | None = None
        self._count = 0

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        if len(trainer.optimizers) != 1:
            raise fail("optimizers", "one optimizer for CollapseGuardCallback",
                       len(trainer.optimizers))  # fmt: skip
        scaler = getattr(trainer.precision_plugin, "scaler", None)
        guard = CollapseGuard(
            trainer.optimizers[0], pl_module, scaler=scaler, offload=self.offload, **self.rule
        )
        if self._pending is not None:
            guard.load_state_dict(self._pending)  # checked against this module first
            self._pending = None
        if self.guard is not None:
            self.guard.remove()
        self.guard = guard

    def on_train_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self._total, self._count = None, 0

    def on_train_batch_end(
        self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        loss = _loss_of(outputs)
        if loss is None:
            return
        loss = loss.detach().float()  # summed on the device: no sync per step
        self._total = loss if self._total is None else self._total + loss
        self._count += 1

    def on_train_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        if self.guard is None:
            return
        if self._total is None:
            raise ValueError(
                "CollapseGuardCallback needs the training loss: return it from training_step "
                "(a tensor, or a dict with 'loss')."
            )
        mean = (self._total / self._count).to(torch.float64)
        if trainer.world_size > 1:  # every rank must decide alike
            mean = trainer.strategy.reduce(mean, reduce_op="mean")
        if self.guard.step(mean) == "diverged":
            trainer.should_stop = True

    def teardown(self, trainer: Any, pl_module: Any, stage: str) -> None:
        if self.guard is not None:
            self.guard.remove()

    def state_dict(self) -> dict[str, Any]:
        if self.guard is not None:
            return {"guard": self.guard.state_dict()}
        return {"guard": self._pending}

    def load_state_dict(self, state_dict: Any) -> None:
        """Restore from a checkpoint (untrusted): checked against the module and optimizer at
        once when the fit has made the guard, else when it does, before any step."""
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"guard"}:
            raise fail("state_dict", "a dict made by CollapseGuardCallback.state_dict()",
                       type(state_dict).__name__)  # fmt: skip
        state = state_dict["guard"]
        if self.guard is not None:
            self.guard.load_state_dict(state)
        elif state is not None:
            if not isinstance(state, Mapping):
                raise fail("state_dict['guard']", "a CollapseGuard.state_dict()", state, TypeError)
            _Decision.from_state_dict(state.get("guard"))  # the decision is checked now
            self._pending = state
