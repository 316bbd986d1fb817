"""``python -m hostsessions``: the same as the ``hostsessions`` command."""

import sys

from .cli import main

__all__: list[str] = []

sys.exit(main())
