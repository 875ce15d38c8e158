"""The lab fixtures (tests/lab/conftest.py) for the SD-WAN lab tests in this directory."""

from tests.lab.conftest import lab, lab_run, pytest_collection_modifyitems  # noqa: F401
