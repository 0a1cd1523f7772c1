"""torch.compile of our noise estimator against eager and against diffusers' UNet2DModel (a benchmark, not a test).

The shapes of bench_peers.py (same channels per level, 2 residual blocks per level, no attention, GroupNorm 32, 1-channel
images, fp32, contiguous). Training images/s: forward, L1 eps loss, backward, AdamW step (`TrainConfig(compile=True)`
compiles the network in place, as here: the optimiser step stays eager). Sampling images/s: the real DDIM sampler
(`ddim_sample`, --sample-steps steps), scaled to DDIM-50: batch / (50 x seconds per network evaluation). Compile time is
the first call of each compiled closure, with an empty inductor cache (a fresh TORCHINDUCTOR_CACHE_DIR); --warm uses
inductor's default cache instead, warm when an earlier --warm run (or any run there) compiled the same sizes.
Those first calls also compare the compiled network's loss, gradients, forward and sampler output with the eager
network's (the same weights; the zero-initialised output layers get small random weights so that outputs are not all zero).
Variants are interleaved within each repetition so that load from other processes hits all alike.

Usage: python bench/bench_compile.py [--threads 2] [--size 64] [--batch 8] [--reps 3] [--hid 32,64,128]
"""

import argparse, copy, os, statistics, tempfile
from _timing import timed, add_quick, parse, load_line
import torch
from damm_nb.diffusion import make_schedule, training_loss, ddim_sample
from bench_peers import models


def perturb_zeros(m, seed: int = 0):
    "Small random weights for the parameters initialised to zero (output layers), so that outputs are not all zero."
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in m.parameters():
            if p.abs().max() == 0:
                p.copy_(0.02 * torch.randn(p.shape, generator=g))
    return m


def closures(m, sched, x0, steps):
    "(train step, sampler call) of network `m` on the batch `x0`, each from fixed random draws."
    opt = torch.optim.AdamW(m.parameters(), lr=1e-4)

    def train():
        m.train()
        loss = training_loss(m, x0, sched, generator=torch.Generator().manual_seed(0))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    @torch.no_grad()
    def sample():
        m.eval()
        x_T = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
        return ddim_sample(m, x_T, sched, steps=steps, progress=False)

    return train, sample


def rel(a, b) -> float:
    "max |a - b| / max |b| over tensors or lists of tensors."
    a, b = (o if isinstance(o, (list, tuple)) else [o] for o in (a, b))
    return max((x - y).abs().max().item() for x, y in zip(a, b)) / max(
        y.abs().max().item() for y in b
    )


def first_calls(eager, comp, sched, x0, steps) -> tuple[dict, dict]:
    """(seconds of the compiled network's first training and sampling calls, which compile; relative differences of its
    loss, gradients, forward and DDIM output from the eager network's), both from the same weights."""
    sec, diff, out = {}, {}, {}
    eager.train(), comp.train()
    for m in (eager, comp):

        def step(m=m):
            out[m] = training_loss(m, x0, sched, generator=torch.Generator().manual_seed(0))
            out[m].backward()

        sec['train'] = timed(step)[0]  # the compiled network's call is the second: its time is kept
    diff['loss'] = rel(out[comp].detach(), out[eager].detach())
    diff['gradients'] = rel(
        [p.grad for p in comp.parameters()], [p.grad for p in eager.parameters()]
    )
    for m in (comp, eager):
        m.zero_grad(set_to_none=True)
        m.eval()
    x_T = torch.randn(x0.shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        sec['sample'], _ = timed(ddim_sample, comp, x_T, sched, steps=steps, progress=False)
        t = torch.full((x0.shape[0],), 500)
        diff['forward'] = rel(comp(x0, t), eager(x0, t))
        s = [ddim_sample(m, x_T, sched, steps=steps, progress=False) for m in (comp, eager)]
        diff[f'DDIM-{steps} output'] = rel(*s)
    return sec, diff


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--size', type=int, default=64)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--hid', default='32,64,128')
    p.add_argument(
        '--sample-steps', type=int, default=5, help='DDIM steps of each timed sampler call'
    )
    p.add_argument(
        '--warm',
        action='store_true',
        help="inductor's default cache (warm after an earlier run there: the compile time of later runs)",
    )
    p.add_argument(
        '--backend',
        default='inductor',
        help="torch.compile's backend ('eager': a quick check of the script itself)",
    )
    add_quick(p, reps=1, size=16, batch=2, hid='32,64', sample_steps=2)
    a = parse(p)
    if not a.warm:
        os.environ['TORCHINDUCTOR_CACHE_DIR'] = tempfile.mkdtemp(prefix='inductor_')
    torch.set_num_threads(a.threads)
    hid = tuple(int(o) for o in a.hid.split(','))
    print(
        load_line(
            f'{torch.get_num_threads()} threads',
            f'torch {torch.__version__}',
            f'hid_chs {hid}, 2 blocks/level, no attention, {a.size}x{a.size}, batch {a.batch}, fp32, contiguous',
        )
    )
    ms = models(hid, a.size)
    ms.pop('monai', None)
    ours = perturb_zeros(ms['ours'])
    comp = copy.deepcopy(ours)
    comp.compile(backend=a.backend)  # in place, as TrainConfig(compile=True)
    nets = {
        'ours eager': ours,
        'ours compiled': comp,
        'diffusers eager': perturb_zeros(ms['diffusers']),
    }
    sched, x0 = (
        make_schedule(),
        torch.randn(a.batch, 1, a.size, a.size, generator=torch.Generator().manual_seed(2)),
    )
    tc, eq = first_calls(
        ours, comp, sched, x0, a.sample_steps
    )  # the compiled network's first calls compile
    print(
        f'compile ({a.backend}, first call, {"default" if a.warm else "empty"} inductor cache): training step {tc["train"]:.0f} s, '
        f'sampler {tc["sample"]:.0f} s'
    )
    fns = {k: closures(m, sched, x0, a.sample_steps) for k, m in nets.items()}
    print(
        'compiled against eager, max |difference| / max |eager|: '
        + ', '.join(f'{k} {v:.1e}' for k, v in eq.items())
    )
    times = {k: ([], []) for k in nets}
    for k, (tr, sa) in fns.items():  # warm-up (oneDNN builds its kernels on the first call)
        tr(), sa()
    for _ in range(a.reps):
        for k, (tr, sa) in fns.items():
            times[k][0].append(timed(tr)[0])
            times[k][1].append(timed(sa)[0])
    tr = {k: a.batch / statistics.median(v[0]) for k, v in times.items()}
    sa = {k: a.batch * a.sample_steps / (50 * statistics.median(v[1])) for k, v in times.items()}
    print(
        f"\n{'network':<16} {'train img/s':>12} {'sample img/s':>13}   (median of {a.reps}; sample = DDIM-50)"
    )
    for k in nets:
        print(f'{k:<16} {tr[k]:12.2f} {sa[k]:13.3f}')
    c, e, d = 'ours compiled', 'ours eager', 'diffusers eager'
    print(f'\ncompiled / eager: training {tr[c] / tr[e]:.2f}x, sampling {sa[c] / sa[e]:.2f}x')
    print(f'compiled / diffusers: training {tr[c] / tr[d]:.2f}x, sampling {sa[c] / sa[d]:.2f}x')
    gain = {
        k: 1 / s[e] - 1 / s[c] for k, s in (('train', tr), ('sample', sa))
    }  # seconds saved per image
    if gain['train'] > 0:
        print(
            f"training: the compile time is paid back after {tc['train'] / gain['train'] / a.batch:.0f} steps"
        )
    if gain['sample'] > 0:
        print(
            f"sampling: the compile time is paid back after {tc['sample'] / gain['sample']:.0f} images (DDIM-50)"
        )
    print(f'load average at the end {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
