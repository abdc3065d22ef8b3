"""Where a benchmark run writes its JSON: a pages-only and a jobs-only run of one revision side by side."""

from argparse import Namespace

import pytest

from bench.run import _result_suffix


@pytest.mark.parametrize(
    ("only", "skip_pages", "skip_jobs", "suffix"),
    [
        (None, False, False, ""),
        (None, False, True, "-pages"),
        (["home"], False, True, "-pages"),
        (None, True, False, "-jobs"),
        (["re-tier"], True, False, "-jobs"),
        (["home"], False, False, "-partial"),
        (None, True, True, "-partial"),  # measured nothing: never over a full run's file
    ],
)
def test_a_run_is_named_by_what_it_measured(only, skip_pages, skip_jobs, suffix):
    args = Namespace(only=only, skip_pages=skip_pages, skip_jobs=skip_jobs)
    assert _result_suffix(args) == suffix
