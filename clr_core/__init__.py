"""clr-core: cyclical learning rates, 1cycle and the LR range test, framework-free.

Every schedule is a frozen dataclass and a pure function of the optimizer step::

    >>> import clr_core
    >>> s = clr_core.Triangular(base_lr=0.001, max_lr=0.006, step_size_up=2000)
    >>> s(0), s(2000), s(4000)
    (0.001, 0.006, 0.001)
    >>> clr_core.from_config(s.to_config()) == s
    True

This package imports only the Python standard library.
"""

from . import rangetest, validation  # the LR range test; argument checks (stdlib only)
from ._base import (
    Component,
    Inverse,
    Schedule,
    check_step,
    from_config,
    fuse,
    register,
    registered_types,
)
from ._compose import Constant, Join, Linear, warmup
from ._cyclic import (
    ConstantScale,
    Cyclic,
    CyclicMomentum,
    ExpRange,
    ExpScale,
    HalvingScale,
    Hann,
    Scale,
    Shape,
    Triangle,
    Triangular,
    Triangular2,
    Welch,
)
from ._one_cycle import CosineRestarts, OneCycle, OneCycleMomentum
from ._xp import SCALAR

__version__ = "0.1.0"

__all__ = [
    "SCALAR",
    "Component",
    "Constant",
    "ConstantScale",
    "CosineRestarts",
    "Cyclic",
    "CyclicMomentum",
    "ExpRange",
    "ExpScale",
    "HalvingScale",
    "Hann",
    "Inverse",
    "Join",
    "Linear",
    "OneCycle",
    "OneCycleMomentum",
    "Scale",
    "Schedule",
    "Shape",
    "Triangle",
    "Triangular",
    "Triangular2",
    "Welch",
    "__version__",
    "check_step",
    "from_config",
    "fuse",
    "register",
    "registered_types",
    "warmup",
    "rangetest",
    "validation",
]
