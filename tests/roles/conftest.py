"""Role tests on the lab reuse the session-scoped lab fixtures (tests/lab/conftest.py)."""

from tests.lab.conftest import lab, lab_run, pytest_collection_modifyitems  # noqa: F401  (re-exported fixtures and skip hook)
