"""The notebooks in ``notebooks/`` execute top to bottom (nbclient, in a temporary folder) and are
stored without outputs. Each uses the classroom population and short runs (< 60 s each)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))
#: A notebook must finish within this many seconds (they take 5-20 s on one core).
TIMEOUT = 180


def test_the_four_notebooks_exist():
    names = [p.name for p in PATHS]
    for stem in ("01_quickstart", "02_dilemmas_remedies_zh", "03_items_and_handoffs",
                 "04_sweep_table"):
        assert f"{stem}.ipynb" in names, stem


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_is_stored_without_outputs(path):
    book = nbformat.read(path, as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, \
                f"{path.name}: clear the outputs before committing"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_notebook_executes(path, tmp_path, monkeypatch):
    book = nbformat.read(path, as_version=4)
    # Headless plots; one thread per numeric library (tests share two cores).
    env = {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    client = nbclient.NotebookClient(book, timeout=TIMEOUT, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    t0 = time.perf_counter()
    client.execute()
    wall = time.perf_counter() - t0
    errors = [o for c in book.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    if os.environ.get("RPB_NOTEBOOK_TIMES"):
        print(f"{path.name}: {wall:.1f} s")
