"""g2 fitting of 100 q-bins x 60 delays, batched against per-bin loops, in one run.

Synthetic g2 = baseline + contrast*exp(-2 t/tau) with known truth (tau = 1/(D q^2),
D = 1e5 Å²/s, q chosen so that tau spans 1e-4 .. 1 s; delays 1e-5 .. 10 s; errors
0.003), single-exponential model, docs/physics.md bounds and priors.

(a) least squares: a per-bin ``scipy.optimize.curve_fit`` loop (absolute_sigma, the
    same bounds and starting values) against one batched call of the numpy and jax
    backends (``xpcs_fit_lsq``); parameters must agree at rtol 1e-5. Medians of repeats.
(b) posteriors: all bins in one compiled NUTS program on jax (4 chains, 500 warm-up,
    1000 draws; cold = first call with compilation, warm = new data, same shapes)
    against a per-bin NumPyro loop (``MCMC(NUTS(model), num_chains=4)`` with
    ``jit_model_args=True`` reused across bins, the same priors, started at the
    least-squares point; at least 5 bins timed, scaled to 100) and per-bin emcee (the
    numpy backend's sampler, its defaults; 5 bins timed, scaled). Convergence by
    docs/physics.md's criteria is reported for every run.

Usage: ``python benchmarks/bench_fit.py [--loop-bins 5] [--repeats 3] [--out FILE]``.
Timings are wall-clock on this machine; ratios are what matter.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

N_BINS, N_T = 100, 60
D_TRUE = 1e5
RESULTS = Path(__file__).parent / "results" / "fit-cpu.txt"


def make_data(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.logspace(-5, 1, N_T)
    tau = np.logspace(-4, 0, N_BINS)
    q = 1.0 / np.sqrt(D_TRUE * tau)
    truth = {"baseline": 1.0 + 0.002 * rng.standard_normal(N_BINS),
             "contrast": 0.2 + 0.1 * rng.random(N_BINS), "tau": tau}
    g2 = truth["baseline"] + truth["contrast"] * np.exp(-2.0 * t[:, None] / tau)
    err = np.full_like(g2, 0.003)
    return {"t": t, "q": q, "g2": g2 + err * rng.standard_normal(g2.shape), "g2_err": err, "truth": truth}


def problem_of(data: dict[str, np.ndarray]):
    from xpcs_core.fitting import build_problem

    problem, bins, _ = build_problem(data["t"], data["g2"], data["g2_err"], q=data["q"], model="single")
    assert bins.size == N_BINS
    return problem


def timed(fn, repeats: int) -> tuple[float, list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times, out


class Report:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def __call__(self, text: str = "") -> None:
        print(text, flush=True)
        self.lines.append(text)


def curve_fit_loop(problem) -> np.ndarray:
    from scipy.optimize import curve_fit

    def f(t, b, c, tau):
        return b + c * np.exp(-2.0 * t / tau)

    out = np.empty((problem.n_bins, 3))
    for i in range(problem.n_bins):
        out[i], _ = curve_fit(f, problem.t, problem.y[i], p0=problem.p0[i], sigma=problem.sigma[i],
                              absolute_sigma=True, bounds=(problem.lower[i], problem.upper[i]))
    return out


def converged_of(draws: dict[str, np.ndarray], stats: dict[str, np.ndarray]) -> np.ndarray:
    from xpcs_core.fitting.diagnostics import diagnose

    return diagnose(draws, stats)["converged"]


def numpyro_loop(problem, lsq, bins: list[int], chains: int, warmup: int, draws: int):
    """The per-bin loop a user writes with NumPyro's MCMC API (same priors and start)."""
    from xpcs_jax.runtime import jax_module

    jax = jax_module()
    import jax.numpy as jnp
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS, init_to_value

    def model(t, y, sigma, tau_lsq):
        baseline = numpyro.sample("baseline", dist.Normal(1.0, 0.1))
        contrast = numpyro.sample("contrast", dist.HalfNormal(1.0))
        tau = numpyro.sample("tau", dist.LogNormal(jnp.log(tau_lsq), 2.0))
        numpyro.sample("obs", dist.Normal(baseline + contrast * jnp.exp(-2.0 * t / tau), sigma), obs=y)

    times, conv = [], []
    mcmc = None
    for b in bins:
        start = dict(zip(("baseline", "contrast", "tau"), (float(v) for v in lsq.params[b])))
        t0 = time.perf_counter()
        kernel = NUTS(model, init_strategy=init_to_value(values=start))
        if mcmc is None:
            mcmc = MCMC(kernel, num_warmup=warmup, num_samples=draws, num_chains=chains,
                        chain_method="sequential", progress_bar=False, jit_model_args=True)
        mcmc.run(jax.random.PRNGKey(b), jnp.asarray(problem.t), jnp.asarray(problem.y[b]),
                 jnp.asarray(problem.sigma[b]), float(lsq.params[b, 2]), extra_fields=("diverging", "energy"))
        samples = mcmc.get_samples(group_by_chain=True)
        jax.block_until_ready(samples)
        times.append(time.perf_counter() - t0)
        extra = mcmc.get_extra_fields(group_by_chain=True)
        d = {k: np.asarray(v)[:, :, None] for k, v in samples.items()}
        st = {"diverging": np.asarray(extra["diverging"])[:, :, None], "energy": np.asarray(extra["energy"])[:, :, None]}
        conv.append(bool(converged_of(d, st)[0]))
    return times, conv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-bins", type=int, default=5, help="bins timed in the per-bin posterior loops")
    parser.add_argument("--repeats", type=int, default=3, help="repeats of the batched posterior (warm)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    from xpcs_core.backends import Backend
    from xpcs_core.fitting import SamplerSettings

    report = Report()
    numpy_be, jax_be = Backend("numpy"), Backend("jax")
    devices = jax_be.load()
    report(f"# bench_fit: {N_BINS} q-bins x {N_T} delays, single exponential, synthetic truth (D = {D_TRUE:g} A^2/s)")
    report(f"# {platform.platform()}, python {sys.version.split()[0]}, {os.cpu_count()} CPUs, jax device {devices[0]}")
    report(f"# versions: {jax_be.info.library_versions} {numpy_be.info.library_versions}")
    data = make_data(0)
    problem = problem_of(data)

    # ------------------------------------------------------------ (a) least squares
    report()
    report("(a) least squares, all 100 bins")
    t_cf, _, p_cf = timed(lambda: curve_fit_loop(problem), 3)
    t_np, _, sol_np = timed(lambda: numpy_be.call("xpcs_fit_lsq", problem=problem), 10)
    t0 = time.perf_counter()
    jax_be.call("xpcs_fit_lsq", problem=problem)
    t_jax_cold = time.perf_counter() - t0
    t_jax, _, sol_jax = timed(lambda: jax_be.call("xpcs_fit_lsq", problem=problem), 10)
    dev_np = float(np.max(np.abs(sol_np.params / p_cf - 1)))
    dev_jax = float(np.max(np.abs(sol_jax.params / p_cf - 1)))
    dev_nj = float(np.max(np.abs(sol_jax.params / sol_np.params - 1)))
    report(f"  {'method':<38}{'median [s]':>12}{'speed-up':>10}   max rel. diff of parameters")
    report(f"  {'curve_fit loop (scipy, per bin)':<38}{t_cf:>12.4f}{1.0:>10.1f}   (reference)")
    report(f"  {'numpy batched (vectorised LM)':<38}{t_np:>12.4f}{t_cf / t_np:>10.1f}   {dev_np:.1e} vs curve_fit")
    report(f"  {'jax batched (optimistix, vmap, warm)':<38}{t_jax:>12.4f}{t_cf / t_jax:>10.1f}   {dev_jax:.1e} vs curve_fit, {dev_nj:.1e} vs numpy")
    report(f"  {'jax batched, first call (compile)':<38}{t_jax_cold:>12.4f}{t_cf / t_jax_cold:>10.1f}")
    ok = dev_np < 1e-5 and dev_jax < 1e-5 and sol_np.success.all() and sol_jax.success.all()
    report(f"  same answers at rtol 1e-5 and all bins successful: {'yes' if ok else 'NO'}")

    # ---------------------------------------------------------------- (b) posteriors
    report()
    report("(b) posteriors of all 100 bins (NUTS: 4 chains x (500 warm-up + 1000 draws))")
    lsq = sol_jax
    t0 = time.perf_counter()
    post = jax_be.call("xpcs_sample_posterior", problem=problem, start=lsq, settings=SamplerSettings(seed=0))
    t_cold = time.perf_counter() - t0
    conv_cold = converged_of(post.draws, post.sample_stats)
    warm_times, warm_conv = [], []
    for rep in range(args.repeats):
        p_new = problem_of(make_data(100 + rep))
        l_new = jax_be.call("xpcs_fit_lsq", problem=p_new)
        t0 = time.perf_counter()
        post_w = jax_be.call("xpcs_sample_posterior", problem=p_new, start=l_new, settings=SamplerSettings(seed=rep + 1))
        warm_times.append(time.perf_counter() - t0)
        warm_conv.append(int(converged_of(post_w.draws, post_w.sample_stats).sum()))
    t_warm = statistics.median(warm_times)
    mean_tau = post.draws["tau"].mean(axis=(0, 1))
    sd_tau = post.draws["tau"].std(axis=(0, 1))
    z = np.abs(mean_tau - data["truth"]["tau"]) / sd_tau

    loop_bins = list(np.linspace(0, N_BINS - 1, args.loop_bins).round().astype(int))
    np_times, np_conv = numpyro_loop(problem, lsq, loop_bins, 4, 500, 1000)
    compile_est = max(np_times[0] - statistics.median(np_times[1:]), 0.0) if len(np_times) > 1 else 0.0
    per_bin = statistics.median(np_times[1:]) if len(np_times) > 1 else np_times[0]
    t_numpyro = compile_est + N_BINS * per_bin

    from xpcs_numpy._emcee import sample_emcee

    sub = problem.subset(np.array(loop_bins))
    lsq_sub = numpy_be.call("xpcs_fit_lsq", problem=sub)
    t0 = time.perf_counter()
    em = sample_emcee(sub, lsq_sub, SamplerSettings(seed=0))
    t_em_sub = time.perf_counter() - t0
    em_conv = converged_of(em.draws, em.sample_stats)
    t_emcee = t_em_sub / len(loop_bins) * N_BINS

    report(f"  {'method':<44}{'time [s]':>10}{'jax warm is':>13}{'jax cold is':>13}   converged bins")
    report(f"  {'jax: all bins, one compiled NUTS, warm':<44}{t_warm:>10.1f}{'':>13}{'':>13}   "
           f"{'/'.join(str(c) for c in warm_conv)} of {N_BINS} (median of {args.repeats}, new data)")
    report(f"  {'jax: all bins, first call (compile)':<44}{t_cold:>10.1f}{'':>13}{'':>13}   {int(conv_cold.sum())} of {N_BINS}")
    report(f"  {'NumPyro per-bin loop (scaled from %d bins)' % len(loop_bins):<44}{t_numpyro:>10.1f}"
           f"{t_numpyro / t_warm:>12.1f}x{t_numpyro / t_cold:>12.1f}x   {sum(np_conv)} of {len(loop_bins)} timed")
    report(f"  {'emcee per bin (numpy backend, scaled)':<44}{t_emcee:>10.1f}"
           f"{t_emcee / t_warm:>12.1f}x{t_emcee / t_cold:>12.1f}x   {int(em_conv.sum())} of {len(loop_bins)} timed")
    report(f"  NumPyro loop per bin: {', '.join(f'{x:.2f}' for x in np_times)} s (first includes compilation, "
           f"est. {compile_est:.1f} s); emcee: {t_em_sub / len(loop_bins):.2f} s per bin "
           f"({em.settings['walkers']} walkers, {em.settings['warmup']}+{em.settings['draws']} steps)")
    report(f"  posterior mean of tau vs truth: median |z| = {np.median(z):.2f}, "
           f"{np.mean(z < 2) * 100:.0f} % of bins within 2 sd; max R-hat "
           f"{max(float(np.nanmax(v)) for v in __import__('xpcs_core.fitting.diagnostics', fromlist=['x']).diagnose(post.draws, post.sample_stats)['r_hat'].values()):.4f}")
    all_ok = ok and int(conv_cold.sum()) == N_BINS and all(c == N_BINS for c in warm_conv)
    report()
    report(f"targets: (a) >= 10x curve_fit loop: numpy {t_cf / t_np:.0f}x, jax {t_cf / t_jax:.0f}x; "
           f"(b) >= 30x per-bin NumPyro loop: {t_numpyro / t_warm:.0f}x warm, {t_numpyro / t_cold:.0f}x cold; "
           f"every bin converged: {'yes' if all_ok else 'NO'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(report.lines) + "\n")
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
