import os

import pytest


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlmap: sqlmap against a live server (slow; run with `make sqlmap`)")


def pytest_collection_modifyitems(config, items):
    """sqlmap takes ~1.5 min: outside `make test`, it runs only with CRM_SQLMAP=1 (`make sqlmap`)."""
    if os.environ.get("CRM_SQLMAP"):
        return
    skip = pytest.mark.skip(reason="slow: set CRM_SQLMAP=1 or run `make sqlmap`")
    for item in items:
        if "sqlmap" in item.keywords:
            item.add_marker(skip)
