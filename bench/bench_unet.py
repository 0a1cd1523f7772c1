"""Speed of the noise estimator and the samplers on this machine (a benchmark, not a test).

1. Training-step throughput (images/s: forward, L1 loss, backward, AdamW step) of `damm_nb.unet.NoiseUNet` against
   diffusers' `UNet2DModel` with the same channels, levels, blocks and parameter count, fp32 and bf16 autocast,
   contiguous and channels_last, measured interleaved in one run so that machine load hits both alike.
2. Sampling time per image for DDPM-1000, DDIM-50 and DPM-Solver++(2M)-20 with a small `NoiseUNet`.

Usage: python bench/bench_unet.py [--threads 2] [--size 64] [--batch 8] [--reps 3] [--hid 64,128,256,512] [--sample-batch 4]
(On a 2-core machine shared with other jobs, use --threads 1: two OpenMP threads competing for busy cores stall at barriers.)
"""

import argparse, time, statistics
from _timing import timed, add_quick, parse, load_line
import torch
from damm_nb.unet import NoiseUNet, UNetConfig
from damm_nb.diffusion import make_schedule, training_loss, sample


def n_params(m):
    return sum(p.numel() for p in m.parameters())


def make_models(hid, size):
    from diffusers import UNet2DModel

    L = len(hid)
    ours = NoiseUNet(
        UNetConfig(
            in_ch=1, out_ch=1, hid_chs=hid, blocks=2, time_dim=hid[0], emb_dim=4 * hid[0], groups=32
        )
    )
    ref = UNet2DModel(
        sample_size=size,
        in_channels=1,
        out_channels=1,
        block_out_channels=hid,
        layers_per_block=2,
        down_block_types=('DownBlock2D',) * L,
        up_block_types=('UpBlock2D',) * L,
        add_attention=False,
        norm_num_groups=32,
    )
    return ours, ref


class RefWrap(torch.nn.Module):
    "diffusers' UNet2DModel behind our `model(x_t, t, cond)` interface."

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x, t, cond=None):
        return self.m(x, t).sample


def train_step_fn(model, sched, x0, bf16, channels_last):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    if channels_last:
        x0 = x0.contiguous(memory_format=torch.channels_last)

    def step():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            loss = training_loss(model, x0, sched, generator=g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def bench_training(hid, size, batch, reps):
    ours, ref = make_models(hid, size)
    p_ours, p_ref = n_params(ours), n_params(ref)
    print(
        f'NoiseUNet {p_ours / 1e6:.2f} M parameters, diffusers UNet2DModel {p_ref / 1e6:.2f} M (hid_chs {hid}, 2 blocks, no attention), '
        f'{size}x{size}, batch {batch}, {torch.get_num_threads()} threads'
    )
    sched, x0 = make_schedule(), torch.randn(batch, 1, size, size)
    variants = [
        (name, m, bf16, cl)
        for bf16 in (False, True)
        for cl in (False, True)
        for name, m in (('ours', ours), ('diffusers', ref))
    ]
    fns = {}
    for name, m, bf16, cl in variants:
        m = m.to(memory_format=torch.channels_last if cl else torch.contiguous_format)
        fns[(name, bf16, cl)] = (
            m,
            train_step_fn(m if name == 'ours' else RefWrap(m), sched, x0, bf16, cl),
        )
    times = {k: [] for k in fns}
    for k, (m, fn) in fns.items():  # warm-up (oneDNN primitive creation)
        m.to(memory_format=torch.channels_last if k[2] else torch.contiguous_format)
        print(f'  warm-up {k}: {timed(fn)[0]:.2f} s', flush=True)
    for _ in range(reps):  # interleaved, so that load from other processes hits every variant alike
        for k, (m, fn) in fns.items():
            m.to(memory_format=torch.channels_last if k[2] else torch.contiguous_format)
            times[k].append(timed(fn)[0])
    print(
        f"\n{'precision':<10} {'layout':<14} {'ours img/s':>11} {'diffusers img/s':>16} {'ours/diffusers':>15}"
    )
    for bf16 in (False, True):
        for cl in (False, True):
            a, b = (batch / statistics.median(times[(n, bf16, cl)]) for n in ('ours', 'diffusers'))
            print(
                f"{'bf16' if bf16 else 'fp32':<10} {'channels_last' if cl else 'contiguous':<14} {a:11.2f} {b:16.2f} {a / b:14.2f}x"
            )
    best = {
        n: max(batch / statistics.median(v) for k, v in times.items() if k[0] == n)
        for n in ('ours', 'diffusers')
    }
    print(
        f"best of each: ours {best['ours']:.2f} img/s, diffusers {best['diffusers']:.2f} img/s ({best['ours'] / best['diffusers']:.2f}x)"
    )


@torch.no_grad()
def bench_sampling(size, batch):
    net = NoiseUNet(
        UNetConfig(
            in_ch=1, out_ch=1, hid_chs=(32, 64), blocks=1, time_dim=32, emb_dim=128, groups=8
        )
    ).eval()
    sched = make_schedule()
    print(
        f'\nsampling with a small NoiseUNet ({n_params(net) / 1e6:.2f} M parameters), {size}x{size}, batch {batch}'
    )
    print(f"{'sampler':<20} {'steps':>6} {'s/image':>9} {'ms/step/image':>14}")
    for method, steps in (('ddpm', 1000), ('ddim', 50), ('dpmpp_2m', 20)):
        x = torch.randn(batch, 1, size, size, generator=torch.Generator().manual_seed(0))
        dt = (
            timed(
                sample,
                net,
                x,
                sched,
                method,
                steps,
                generator=torch.Generator().manual_seed(1),
                progress=False,
            )[0]
            / batch
        )
        print(f'{method:<20} {steps:>6} {dt:9.3f} {1000 * dt / steps:14.2f}', flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--hid', default='64,128,256,512')
    p.add_argument('--skip-sampling', action='store_true')
    p.add_argument('--sample-batch', type=int, default=4)
    p.add_argument('--sample-size', type=int, default=64)
    p.add_argument('--skip-training', action='store_true')
    add_quick(p, reps=1, size=16, batch=2, hid='32,64', sample_batch=1, sample_size=16)
    a = parse(p)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if not a.skip_training:
        bench_training(tuple(int(c) for c in a.hid.split(',')), a.size, a.batch, a.reps)
    if not a.skip_sampling:
        bench_sampling(a.sample_size, a.sample_batch)


if __name__ == '__main__':
    main()
