"""Our noise estimator against diffusers' UNet2DModel and MONAI's DiffusionModelUNet at matched size (a benchmark, not a test).

Same channels per level, residual blocks per level, no attention, GroupNorm 32, 1-channel images. Training images/s: forward,
L1 eps loss, backward, AdamW step. Sampling images/s: no-grad network evaluations of a 50-step sampler (DDIM-50), i.e.
batch / (50 x forward time). fp32 and bf16 autocast, contiguous and channels_last; variants are interleaved within each
repetition so that load from other processes hits all alike.

Usage: python bench/bench_peers.py [--threads 2] [--size 64] [--batch 8] [--reps 3] [--hid 32,64,128]
"""

import argparse, os, statistics, time
from _timing import timed, add_quick, parse, load_line
import torch
from damm_nb.unet import NoiseUNet, UNetConfig
from damm_nb.diffusion import make_schedule, training_loss


class Wrap(torch.nn.Module):
    "A peer network behind our `model(x_t, t, cond)` interface."

    def __init__(self, m, diffusers):
        super().__init__()
        self.m, self.d = m, diffusers

    def forward(self, x, t, cond=None):
        return self.m(x, t).sample if self.d else self.m(x, t)


def models(hid, size):
    from diffusers import UNet2DModel

    L, out = len(hid), {}
    out['ours'] = NoiseUNet(
        UNetConfig(
            in_ch=1, out_ch=1, hid_chs=hid, blocks=2, time_dim=hid[0], emb_dim=4 * hid[0], groups=32
        )
    )
    out['diffusers'] = Wrap(
        UNet2DModel(
            sample_size=size,
            in_channels=1,
            out_channels=1,
            block_out_channels=hid,
            layers_per_block=2,
            down_block_types=('DownBlock2D',) * L,
            up_block_types=('UpBlock2D',) * L,
            add_attention=False,
            norm_num_groups=32,
        ),
        True,
    )
    try:
        from monai.networks.nets import DiffusionModelUNet

        out['monai'] = Wrap(
            DiffusionModelUNet(
                spatial_dims=2,
                in_channels=1,
                out_channels=1,
                num_res_blocks=2,
                channels=hid,
                attention_levels=(False,) * L,
                norm_num_groups=32,
            ),
            False,
        )
    except ImportError as e:
        print(f'MONAI not importable ({e}): skipped')
    return out


def closures(m, sched, x0, bf16, cl):
    opt, g = torch.optim.AdamW(m.parameters(), lr=1e-4), torch.Generator().manual_seed(0)
    if cl:
        x0 = x0.contiguous(memory_format=torch.channels_last)
    t = torch.full((x0.shape[0],), 500)

    def train():
        m.train()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            loss = training_loss(m, x0, sched, generator=g)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def infer():
        m.eval()
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            m(x0, t)

    return train, infer


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--hid', default='32,64,128')
    p.add_argument('--steps', type=int, default=50)
    p.add_argument(
        '--precisions',
        default='fp32,bf16',
        help='fp32 and/or bf16 (bf16 autocast is slow on CPUs without avx512_bf16/AMX)',
    )
    p.add_argument(
        '--compile',
        action='store_true',
        help='also time torch.compile of our network (fp32, contiguous)',
    )
    add_quick(p, reps=1, size=16, batch=2, hid='32,64', steps=3, precisions='fp32')
    a = parse(p)
    torch.set_num_threads(a.threads)
    hid = tuple(int(o) for o in a.hid.split(','))
    print(
        f'load average {" ".join(f"{o:.2f}" for o in os.getloadavg())} | {torch.get_num_threads()} threads | '
        f'hid_chs {hid}, 2 blocks/level, no attention, {a.size}x{a.size}, batch {a.batch}'
    )
    ms, sched, x0 = models(hid, a.size), make_schedule(), torch.randn(a.batch, 1, a.size, a.size)
    for n, m in ms.items():
        print(f'  {n:<10} {sum(p.numel() for p in m.parameters()) / 1e6:.3f} M parameters')
    fns, times = {}, {}
    precs = [p == 'bf16' for p in a.precisions.split(',')]
    for bf16 in precs:
        for cl in (False, True):
            for n, m in ms.items():
                fns[(n, bf16, cl)] = closures(m, sched, x0, bf16, cl)

    def layout(n, cl):
        ms[n].to(memory_format=torch.channels_last if cl else torch.contiguous_format)

    for k, (tr, inf) in fns.items():
        layout(k[0], k[2])
        tr()
        inf()
        times[k] = ([], [])  # warm-up
    for _ in range(a.reps):
        for k, (tr, inf) in fns.items():
            layout(k[0], k[2])
            times[k][0].append(timed(tr)[0])
            times[k][1].append(timed(inf)[0])
    names = list(ms)
    print(
        f"\n{'precision':<6} {'layout':<14} "
        + ' '.join(f'{n + " train":>16}' for n in names)
        + ' '
        + ' '.join(f'{n + " sample":>17}' for n in names)
        + '   (images/s; sample = DDIM-%d)' % a.steps
    )
    best = {n: [0, 0] for n in names}
    for bf16 in precs:
        for cl in (False, True):
            tr = {n: a.batch / statistics.median(times[(n, bf16, cl)][0]) for n in names}
            sa = {
                n: a.batch / (a.steps * statistics.median(times[(n, bf16, cl)][1])) for n in names
            }
            for n in names:
                best[n] = [max(best[n][0], tr[n]), max(best[n][1], sa[n])]
            print(
                f"{'bf16' if bf16 else 'fp32':<6} {'channels_last' if cl else 'contiguous':<14} "
                + ' '.join(f'{tr[n]:16.2f}' for n in names)
                + ' '
                + ' '.join(f'{sa[n]:17.3f}' for n in names)
            )
    print(
        '\nbest setting of each: '
        + '; '.join(f'{n} train {b[0]:.2f} img/s, sample {b[1]:.3f} img/s' for n, b in best.items())
    )
    for n in names[1:]:
        print(
            f'ours / {n}: training {best["ours"][0] / best[n][0]:.2f}x, sampling {best["ours"][1] / best[n][1]:.2f}x'
        )
    if a.compile:
        ms['ours'].to(memory_format=torch.contiguous_format)
        tr, inf = closures(torch.compile(ms['ours']), sched, x0, False, False)
        tc = timed(tr)[0] + timed(inf)[0]  # the first calls compile
        ts = [[], []]
        for _ in range(a.reps):
            ts[0].append(timed(tr)[0])
            ts[1].append(timed(inf)[0])
        b, c = a.batch / statistics.median(ts[0]), a.batch / (a.steps * statistics.median(ts[1]))
        e = (
            a.batch / statistics.median(times[('ours', False, False)][0]),
            a.batch / (a.steps * statistics.median(times[('ours', False, False)][1])),
        )
        print(
            f'torch.compile (ours, fp32, contiguous): compile {tc:.0f} s; train {b:.2f} img/s ({b / e[0]:.2f}x eager), sample {c:.3f} img/s ({c / e[1]:.2f}x eager)'
        )
    print(f'load average at the end {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
