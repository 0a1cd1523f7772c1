"""Sampler quality against time per image (a benchmark, not a test).

Quality, from the analytic Gaussian case, where the exact noise predictor is known in closed form, so that the samplers'
discretisation error is all that is measured: data x0 = m + s*n, with m a fixed 64x64 phantom image in [-1, 1] and n ~ N(0, I);
for such data E[eps | x_t] = sqrt(1-abar) (x_t - sqrt(abar) m) / (abar s^2 + 1 - abar). All samplers start from the same x_T.
  - PSNR/SSIM to m ("the truth", as in the benchmark: an ideal sampler scores 10 log10(4/s^2) dB, the noise of the data itself);
  - PSNR to the exact probability-flow ODE solution x0* = m + s (x_T - sqrt(abar_T) m) / sqrt(abar_T s^2 + 1 - abar_T)
    (deterministic samplers only: DDIM and DPM-Solver++ integrate this ODE; DDPM is stochastic and lands elsewhere).
Time per image: the same samplers run with a real network (a small NoiseUNet, size stated) at the same image size.

Usage: python bench/bench_samplers.py [--threads 2] [--s 0.1] [--batch 8] [--time-batch 4] [--hid 32,64] [--no-ddpm-time]
"""

import argparse, math, os, time
from _timing import timed, add_quick, parse, load_line
import numpy as np, torch
from damm_nb.diffusion import make_schedule, sample, respace
from damm_nb.unet import NoiseUNet, UNetConfig
from damm_nb.evaluate import psnr, ssim

SAMPLERS = [('ddpm', 1000), ('ddim', 50), ('ddim', 25), ('dpmpp_2m', 20), ('dpmpp_2m', 10)]


def phantom(size=64):
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size), indexing='ij')
    m = (
        0.3 * x
        - 0.5
        + 1.1 * ((x - 0.2) ** 2 + y**2 < 0.25).float()
        - 0.6 * ((x + 0.4) ** 2 + (y - 0.3) ** 2 < 0.04).float()
    )
    return m.clamp(-0.95, 0.95)[None, None]


class GaussianEps(torch.nn.Module):
    "Exact E[eps | x_t] for data m + s*N(0, I)."

    def __init__(self, m, s, abar):
        super().__init__()
        self.m, self.s, self.abar = m, s, abar

    def forward(self, x_t, t, cond=None):
        a = self.abar[t.long()].view(-1, 1, 1, 1).to(x_t.dtype)
        return (1 - a).sqrt() * (x_t - a.sqrt() * self.m) / (a * self.s**2 + 1 - a)


def spacings(sched, n: int) -> dict:
    "Descending time-step lists of n DPM-Solver++ steps: ours (log-SNR, to t=0), Karras et al. (rho 7), diffusers' 'linspace' and 'trailing'."
    sig = ((1 - sched.abar) / sched.abar).sqrt()
    r = torch.linspace(0, 1, n, dtype=torch.float64)
    rho = 7.0
    ks = (
        float(sig[-1]) ** (1 / rho) + r * (float(sig[0]) ** (1 / rho) - float(sig[-1]) ** (1 / rho))
    ) ** rho
    return {
        f'log-SNR (ours), {n}': respace(sched, n, spacing='logsnr'),
        f'log-SNR, {5 * n}': respace(sched, 5 * n, spacing='logsnr'),
        f'Karras rho 7, {n}': sorted({int((sig - v).abs().argmin()) for v in ks}, reverse=True),
        f"diffusers 'linspace', {n}": np.linspace(0, sched.T - 1, n + 1)
        .round()[::-1][:-1]
        .astype(int)
        .tolist(),
        f"diffusers 'trailing', {n}": [
            int(round(v)) - 1 for v in np.arange(sched.T, 0, -sched.T / n)
        ],
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--s', type=float, default=0.1)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--time-batch', type=int, default=4)
    p.add_argument('--hid', default='32,64')
    p.add_argument(
        '--no-ddpm-time',
        action='store_true',
        help='estimate DDPM-1000 time from DDIM-50 x 20 instead of running it',
    )
    p.add_argument(
        '--no-spacings',
        action='store_true',
        help="skip the table of DPM-Solver++'s time-step spacings (analytic case only)",
    )
    add_quick(p, size=16, batch=2, time_batch=1, hid='8,16', no_ddpm_time=True)
    a = parse(p)
    torch.set_num_threads(a.threads)
    print(load_line(f'{torch.get_num_threads()} threads'))
    sched, m = make_schedule(), phantom(a.size).double()
    model = GaussianEps(m, a.s, sched.abar.double())
    g = torch.Generator().manual_seed(0)
    x_T = torch.randn(a.batch, 1, a.size, a.size, generator=g, dtype=torch.float64)
    aT = sched.abar[-1].double()
    exact = m + a.s * (x_T - aT.sqrt() * m) / (aT * a.s**2 + 1 - aT).sqrt()
    target = m.expand_as(x_T)
    hid = tuple(int(o) for o in a.hid.split(','))
    net = NoiseUNet(
        UNetConfig(
            in_ch=1,
            out_ch=1,
            hid_chs=hid,
            blocks=2,
            time_dim=hid[0],
            emb_dim=4 * hid[0],
            groups=min(32, hid[0]),
        )
    ).eval()
    xt = torch.randn(a.time_batch, 1, a.size, a.size)
    print(
        f'quality: analytic Gaussian case, {a.size}x{a.size}, s = {a.s} (ideal PSNR to m = {10 * math.log10(4 / a.s**2):.2f} dB), batch {a.batch}, float64'
    )
    print(
        f'time: NoiseUNet {sum(p.numel() for p in net.parameters()) / 1e6:.2f} M parameters (hid_chs {hid}, 2 blocks), batch {a.time_batch}, fp32'
    )
    disp = lambda x: float(
        (x - m).std() / a.s
    )  # spread of the samples around m / the data's: 1 for an exact sampler, < 1 under-dispersed
    print(
        f"\n{'sampler':<14} {'PSNR to m':>10} {'SSIM to m':>10} {'PSNR to ODE x0*':>16} {'dispersion':>11} {'s/image':>9}"
    )
    print(
        f"{'exact x0*':<14} {float(np.mean(psnr(exact.clamp(-1, 1).float(), target.float()))):10.2f} {'':>10} {'':>16} {disp(exact):11.3f} {'':>9}"
    )
    with torch.no_grad():  # warm-up: oneDNN builds its primitives on the first calls
        for t in (999, 500, 10):
            net(xt, torch.full((a.time_batch,), t))
    res = {}
    for meth, n in SAMPLERS:
        x = sample(
            model,
            x_T.clone(),
            sched,
            meth,
            steps=n,
            generator=torch.Generator().manual_seed(1),
            progress=False,
        )
        p_m, s_m = (
            float(np.mean(psnr(x.float(), target.float()))),
            float(np.mean(ssim(x.float(), target.float()))),
        )
        p_x = float(np.mean(psnr(x.float(), exact.float()))) if meth != 'ddpm' else float('nan')
        if meth == 'ddpm' and a.no_ddpm_time:
            secs = None
        else:
            with torch.no_grad():
                secs = (
                    timed(
                        sample,
                        net,
                        xt,
                        sched,
                        meth,
                        steps=n,
                        generator=torch.Generator().manual_seed(1),
                        progress=False,
                    )[0]
                    / a.time_batch
                )
        res[(meth, n)] = (p_m, s_m, p_x, disp(x), secs)
    if res[('ddpm', 1000)][4] is None:
        res[('ddpm', 1000)] = (*res[('ddpm', 1000)][:4], res[('ddim', 50)][4] * 20)
    for (meth, n), (p_m, s_m, p_x, dsp, secs) in res.items():
        name = {'ddpm': 'DDPM', 'ddim': 'DDIM', 'dpmpp_2m': 'DPM-Solver++'}[meth] + f'-{n}'
        print(
            f'{name:<14} {p_m:10.2f} {s_m:10.4f} {p_x:16.2f} {dsp:11.3f} {secs:9.3f}'
            + (' (estimated)' if meth == 'ddpm' and a.no_ddpm_time else '')
        )
    d = res[('ddpm', 1000)][0] - res[('dpmpp_2m', 20)][0]
    print(
        f'\nDPM-Solver++-20 vs DDPM-1000, PSNR to m: {-d:+.2f} dB (target: within 0.5 dB), '
        f'{res[("ddpm", 1000)][4] / res[("dpmpp_2m", 20)][4]:.0f}x faster'
    )
    print(
        'dispersion: std(x - m) / s, 1 for samples spread like the data; a sampler below 1 scores a higher PSNR to m by '
        'smoothing (DDPM-1000 here), so PSNR to m rewards under-dispersion as well as accuracy'
    )
    if not a.no_spacings:
        print(
            f"\nDPM-Solver++(2M) time steps (analytic case; every list ends with a step to the x0 prediction, as diffusers' final_sigmas_type='zero')"
        )
        print(
            f"{'spacing, steps':<26} {'last t':>6} {'PSNR to m':>10} {'PSNR to ODE x0*':>16} {'dispersion':>11}"
        )
        for k, ts in spacings(sched, 20).items():
            x = sample(model, x_T.clone(), sched, 'dpmpp_2m', timesteps=ts, progress=False)
            print(
                f'{k:<26} {ts[-1]:>6} {float(np.mean(psnr(x.float(), target.float()))):10.2f} '
                f'{float(np.mean(psnr(x.float(), exact.float()))):16.2f} {disp(x):11.3f}'
            )
    print(f'load average at the end {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
