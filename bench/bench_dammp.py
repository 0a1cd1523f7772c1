"""DAMMP training step: the vectorised loss of `damm_nb.damm` against the public code's per-sample loop, and peak memory.

1. Time of one training step (forward, DAMMP loss after the warm-up, backward, AdamW step) of `DAMMNet` at batch 32,
   vectorised (`LatentDiffusionPipeline.loss`) and looping one sample at a time (`dammp_loss_loop`, as the public code does).
2. Peak resident memory of one full training step (frozen embedders encode the three images, DAMMP loss, backward, AdamW)
   at 64² and 256² images, each in a fresh process (Linux `ru_maxrss` minus the RSS before the step).

Usage: python bench/bench_dammp.py [--batch 32] [--repeats 3] [--unet paper|small] [--threads N] [--skip_memory]
"""

import argparse, json, os, resource, statistics, subprocess, sys, time
import psutil, torch
from damm_nb.unet import UNetConfig
from damm_nb.embedder import EmbedderConfig, LatentEmbedder
from damm_nb.damm import DAMMConfig, DAMMNet, LatentDiffusionPipeline, dammp_loss, dammp_loss_loop
from damm_nb.diffusion import make_schedule, q_sample
from damm_nb.train import make_optimizer
from _timing import repeat, timed, add_quick, parse, load_line

UNETS = {
    'paper': UNetConfig(),
    'small': UNetConfig(hid_chs=(32, 64, 128, 256), groups=16),
    'tiny': UNetConfig(hid_chs=(16, 32), groups=8, time_dim=32, emb_dim=64),
}  # --quick only


def step_times(batch, repeats, unet, latent=16, seed=0):
    "Median seconds of one training step, vectorised and per-sample loop, on 8-channel latents latent x latent."
    torch.manual_seed(seed)
    cfg = DAMMConfig(unet=UNETS[unet])
    net = DAMMNet(cfg).train()
    opt = make_optimizer(
        net.parameters(), 'adamw', lr=1e-4
    )  # the training path's optimiser (fused AdamW on CPU), the same for both
    sched = make_schedule()
    g = torch.Generator().manual_seed(seed)
    z0, zv, zn = (torch.randn(batch, 8, latent, latent, generator=g) for _ in range(3))
    x_t, noise, t = q_sample(z0, sched, generator=g)
    cond = {cfg.uni: zv, cfg.multi: zn}

    def vec():
        eu, em, U = net(x_t, t, cond)
        return dammp_loss(eu, em, U, noise, cfg.gamma, cfg.alpha, False, cfg.loss)[0]

    def loop():
        return dammp_loss_loop(net, x_t, t, cond, noise, False)

    out = {}
    for name, f in (('vectorised', vec), ('per-sample loop', loop)):

        def step():
            loss = f()
            opt.zero_grad()
            loss.backward()
            opt.step()

        out[name] = statistics.median(repeat(step, repeats))
        print(f'  {name}: {out[name]:.3f} s / step', flush=True)
    return out, sum(p.numel() for p in net.parameters())


def memory_child(img, batch, unet):
    "Run in a fresh process: peak RSS growth (MiB) of one full training step at img x img."
    torch.manual_seed(0)
    ch = (
        (32, 64, 128, 256) if img >= 256 else (64, 128)
    )  # the paper's VQ-GAN (x16 down) at 256², x4 down at 64²: 8x16x16 latents
    emb = {k: LatentEmbedder(EmbedderConfig(ch=ch)) for k in ('target', 'vessels', 'nuclei')}
    pipe = LatentDiffusionPipeline(DAMMConfig(unet=UNETS[unet]), emb).train()
    opt = make_optimizer(pipe.net.parameters(), 'adamw', lr=1e-4)
    x = {k: torch.rand(batch, 1, img, img) * 2 - 1 for k in emb}
    base = psutil.Process().memory_info().rss

    def step():
        loss, _ = pipe.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()

    dt = timed(step)[0]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(
        json.dumps(
            {
                'img': img,
                'peak_mib': (peak - base) / 2**20,
                'total_peak_mib': peak / 2**20,
                'step_s': dt,
            }
        )
    )


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--unet', default='paper', choices=list(UNETS))
    p.add_argument('--skip_memory', action='store_true')
    p.add_argument(
        '--threads', type=int, default=None, help='torch threads (default: torch\'s choice)'
    )
    p.add_argument('--_child', type=int, default=None, help=argparse.SUPPRESS)
    add_quick(p, batch=2, repeats=1, unet='tiny')
    a = parse(p)
    if a.threads:
        torch.set_num_threads(a.threads)
    if a._child:
        return memory_child(a._child, a.batch, a.unet)
    print(
        f'torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.1f}'
    )
    times, n = step_times(a.batch, a.repeats, a.unet)
    print(
        f'\n## One DAMMP training step, batch {a.batch}, latents 8x16x16 (256² images), U-Net {a.unet} ({n / 1e6:.1f} M parameters), median of {a.repeats}'
    )
    print(f"| method | s / step |\n|---|---|")
    for k, v in times.items():
        print(f'| {k} | {v:.3f} |')
    print(f"speed-up of the vectorised loss: {times['per-sample loop'] / times['vectorised']:.1f}x")
    if a.skip_memory:
        return
    print(
        f'\n## Peak memory of one training step (frozen VQ-GAN embedders + DAMMNet, batch {a.batch}, fresh process each)'
    )
    print(
        '| image | embedder | latent | peak RSS growth (MiB) | process peak (MiB) | step s |\n|---|---|---|---|---|---|'
    )
    for img in (64, 256):
        r = subprocess.run(
            [
                sys.executable,
                __file__,
                '--_child',
                str(img),
                '--batch',
                str(a.batch),
                '--unet',
                a.unet,
                *(['--threads', str(a.threads)] if a.threads else []),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        o = json.loads(r.stdout.strip().splitlines()[-1])
        print(
            f"| {img}² | VQ-GAN x{16 if img >= 256 else 4} | 8x16x16 | {o['peak_mib']:.0f} | {o['total_peak_mib']:.0f} | {o['step_s']:.2f} |"
        )


if __name__ == '__main__':
    main()
