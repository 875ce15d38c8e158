"""Policy test fixtures (helpers live in policy_helpers.py, importable from the tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_helpers import make_env  # noqa: E402,F401  (pytest fixture)
