"""The generated docs (parameters, metrics, scenarios) match the code that defines them."""

import sim.docs


def test_generated_docs_are_up_to_date():
    assert sim.docs.check(), "docs are stale: run `.venv/bin/python -m sim.docs`"


def test_odd_names_every_submodel_variant():
    from pathlib import Path

    from sim.config import SUBMODEL_CHOICES

    odd = (Path(sim.docs.__file__).resolve().parents[1] / "docs" / "ODD.md").read_text("utf-8")
    for name, choices in SUBMODEL_CHOICES.items():
        assert name in odd, name
        for choice in choices:
            assert choice in odd, (name, choice)
