"""Results are unchanged by performance work: fixed runs reproduce their golden summaries.

The golden file is rewritten only by ``python tests/golden.py`` when model *behaviour* changes
on purpose (say so in the commit); an optimisation must pass this test unchanged.
"""

import json

import pytest
from golden import CASES, GOLDEN, compute


@pytest.fixture(scope="module")
def current():
    return compute()


@pytest.mark.parametrize("case", sorted(CASES))
def test_summary_equals_golden(case, current):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))[case]
    assert current[case].keys() == golden.keys()
    for key, value in golden.items():
        assert current[case][key] == pytest.approx(value, rel=1e-12, abs=1e-12), key
