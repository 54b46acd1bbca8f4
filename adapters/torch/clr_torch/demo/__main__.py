"""``python -m clr_torch.demo [options]``: the same as ``clr demo [options]``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
