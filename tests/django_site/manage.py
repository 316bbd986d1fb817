#!/usr/bin/env python
"""The site's manage.py: ``python tests/django_site/manage.py test tests.django_site.cases``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
