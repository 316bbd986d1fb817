"""``python -m hostsessions``: the same as the ``hostsessions`` command."""

import sys

from .cli import main

sys.exit(main())
