"""The cupy backend's CUDA multi-tau kernel, checked without a GPU.

The kernel's source (:data:`xpcs_cupy._multitau_cuda.SOURCE`) is compiled by nvcc to PTX
(it must compile for the GPU), and the same text is compiled as C++ with a small harness
that runs the kernel body for every block and thread index in turn; the accumulator that
launches it must then agree with the whole-block reference kernel and the numpy backend.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from xpcs_core.backends import Backend
from xpcs_core.kernels.multitau import MultitauOptions, multitau
from xpcs_cupy import _multitau_cuda as cuda
from xpcs_cupy import multitau as cupy_multitau

HARNESS = r"""
struct Dim { unsigned x; };
static Dim threadIdx, blockIdx, blockDim;
#define __global__
%s
extern "C" void launch(unsigned grid, unsigned block, const double* ext, const double* w,
                       long long n_ext, long long n_pix, long long r, int m_first,
                       long long row0, double* g2, double* ip, double* i_f) {
    blockDim.x = block;
    for (unsigned b = 0; b < grid; ++b) {
        blockIdx.x = b;
        for (unsigned t = 0; t < block; ++t) {
            threadIdx.x = t;
            multitau_level(ext, w, n_ext, n_pix, r, m_first, row0, g2, ip, i_f);
        }
    }
}
"""


@pytest.fixture(scope="module")
def cpu_launch(tmp_path_factory):
    """A launcher with cupy's RawKernel convention that runs SOURCE on the CPU."""
    cxx = shutil.which("g++") or shutil.which("c++")
    if cxx is None:
        pytest.skip("no C++ compiler")
    folder = tmp_path_factory.mktemp("kernel")
    src, lib_path = folder / "kernel.cpp", folder / "kernel.so"
    src.write_text(HARNESS % cuda.SOURCE)
    subprocess.run([cxx, "-O1", "-w", "-shared", "-fPIC", "-o", str(lib_path), str(src)], check=True)
    lib = ctypes.CDLL(str(lib_path))
    ll, ptr = ctypes.c_longlong, ctypes.c_void_p
    lib.launch.argtypes = [ctypes.c_uint, ctypes.c_uint, ptr, ptr, ll, ll, ll, ctypes.c_int, ll, ptr, ptr, ptr]
    calls = []

    def launch(grid, block, args):
        ext, w, n_ext, n_pix, r, m_first, row0, g2, ip, i_f = args
        for a in (ext, w, g2, ip, i_f):  # what a GPU kernel needs of its arrays
            assert a.dtype == np.float64 and a.flags.c_contiguous
        assert ext.shape == (n_ext, n_pix) and w.shape == (n_ext,)
        assert grid[0] * block[0] >= n_pix
        calls.append(int(m_first))
        lib.launch(grid[0], block[0], ext.ctypes.data, w.ctypes.data, int(n_ext), int(n_pix), int(r),
                   int(m_first), int(row0), g2.ctypes.data, ip.ctypes.data, i_f.ctypes.data)

    launch.calls = calls
    return launch


def test_source_compiles_for_the_gpu(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    src = tmp_path / "multitau.cu"
    src.write_text(cuda.SOURCE)
    out = subprocess.run([nvcc, "-ptx", "-arch=sm_80", "-o", str(tmp_path / "k.ptx"), str(src)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    ptx = (tmp_path / "k.ptx").read_text()
    assert f".entry {cuda.KERNEL}(" in ptx
    assert ".local" not in ptx  # the eight-frame history stays in registers


N_FRAMES, N_PIX = 700, 301  # 301 pixels: two thread blocks, the second partly idle


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.poisson(rng.gamma(2.0, 1.5, size=(1, N_PIX)), size=(N_FRAMES, N_PIX)).astype(np.uint16)


def _run(acc, frames, valid, chunk):
    for s in range(0, N_FRAMES, chunk):
        acc.update(frames[s : s + chunk], None if valid is None else valid[s : s + chunk])
    return acc.finish()


@pytest.mark.parametrize("chunk", [1, 7, 64, N_FRAMES])
def test_kernel_matches_the_numpy_backend_with_bad_frames(cpu_launch, frames, chunk):
    valid = np.random.default_rng(chunk).random(N_FRAMES) > 0.08
    opts = MultitauOptions()
    got = _run(cupy_multitau.make_accumulator(np, N_PIX, N_FRAMES, opts, launch=cpu_launch), frames, valid, chunk)
    want = _run(Backend("numpy").call("xpcs_multitau_accumulator", n_pixels=N_PIX, n_frames=N_FRAMES,
                                      options=opts), frames, valid, 50)
    np.testing.assert_array_equal(got.delays, want.delays)
    np.testing.assert_array_equal(got.n_pairs, want.n_pairs)
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(got, key), getattr(want, key), rtol=1e-12, err_msg=key)
    assert {1, 5} <= set(cpu_launch.calls)  # level 0 and the levels above ran in the kernel


def test_kernel_matches_the_reference_kernel(cpu_launch, frames):
    acc = cupy_multitau.make_accumulator(np, N_PIX, N_FRAMES, MultitauOptions(n_levels=4), launch=cpu_launch)
    got = _run(acc, frames, None, 33)
    ref = multitau(np, frames.astype(np.float64), n_levels=4)
    np.testing.assert_array_equal(got.delays, ref["delays"])
    for key in ("G2", "IP", "IF"):
        np.testing.assert_allclose(getattr(got, key), ref[key], rtol=1e-12, err_msg=key)


def test_verify_accepts_the_kernel_and_refuses_a_wrong_or_failing_one(cpu_launch):
    assert cuda.verify(np, cpu_launch) is None

    def lazy(grid, block, args):  # computes nothing
        pass

    def broken(grid, block, args):
        raise RuntimeError("nvrtc: error: identifier undefined\nmore lines")

    assert "G2 differs" in cuda.verify(np, lazy)
    assert cuda.verify(np, broken) == "RuntimeError: nvrtc: error: identifier undefined"


def test_without_a_verified_kernel_the_generic_accumulator_runs():
    acc = cupy_multitau.make_accumulator(np, 4, 10, MultitauOptions(), launch=None)
    assert isinstance(acc, cuda.GpuMultitau) and not isinstance(acc, cuda.KernelMultitau)
