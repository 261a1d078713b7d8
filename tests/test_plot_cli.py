"""``--plot FILE`` on ``xpcs fit``, ``xpcs info`` and ``xpcs correlate``: figures with content."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_xpcs
from xpcs_core.io.synthetic import SyntheticSpec, write_synthetic


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    path = tmp_path_factory.mktemp("plot") / "r.h5"
    write_synthetic(path, spec=SyntheticSpec.for_shape((64, 64), n_frames=200))
    return path


def _not_blank(png):
    import matplotlib.image

    pixels = matplotlib.image.imread(png)
    assert pixels.ndim == 3 and pixels.shape[0] > 200 and float(np.var(pixels[..., :3])) > 1e-3


def test_fit_and_info_write_their_figures(result, tmp_path):
    res = run_xpcs("fit", str(result), "--backend", "numpy", "--plot", str(tmp_path / "fit.png"))
    assert res.returncode == 0, res.stderr
    _not_blank(tmp_path / "fit.png")
    res = run_xpcs("info", str(result), "--plot", str(tmp_path / "info.pdf"))
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "info.pdf").read_bytes()[:4] == b"%PDF"


def test_correlate_writes_its_figure(tmp_path):
    sim = tmp_path / "sim"
    assert run_xpcs("simulate", "--raw", str(sim), "--frames", "300", "--shape", "32", "32").returncode == 0
    res = run_xpcs("correlate", str(sim / "raw.h5"), "--qmap", str(sim / "qmap.h5"), "-o", str(tmp_path / "c.h5"),
                   "--plot", str(tmp_path / "c.png"), timeout=300)
    assert res.returncode == 0, res.stderr
    _not_blank(tmp_path / "c.png")


@pytest.mark.parametrize("target", ["fig.jpg", "r.h5"])
def test_bad_plot_paths_are_refused_before_the_work(result, tmp_path, target):
    path = result if target == "r.h5" else tmp_path / target
    res = run_xpcs("fit", str(result), "--backend", "numpy", "--bayes", "--plot", str(path))
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
