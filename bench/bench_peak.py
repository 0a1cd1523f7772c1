"""How close training gets to this CPU's limit (a benchmark, not a test).

1. Peak throughput: dense matmul and 3x3 convolution GFLOP/s in fp32 and bf16 (torch, --threads threads), and the CPU's
   bf16 features from /proc/cpuinfo (avx512_bf16, amx_bf16: without them bf16 runs through conversions and is slower).
2. FLOPs of one DAMM-Diffusion training step (forward + backward of both branches, MMFM, UAFM, DAMMP loss), counted with
   torch.utils.flop_counter.FlopCounterMode (matmul, conv, attention; elementwise ops are not counted).
3. Model-FLOPs utilisation (MFU) of that step, fp32 and bf16 autocast, contiguous and channels_last: counted FLOPs / step time,
   as a fraction of the best peak of the same precision.

Usage: python bench/bench_peak.py [--threads 2] [--reps 3] [--batch 8] [--latent 16] [--hid 64,128,256,512]
"""

import argparse, os, platform, statistics, time
from _timing import repeat, best_median, add_quick, parse, load_line
import torch
from torch.utils.flop_counter import FlopCounterMode


def cpu_info():
    flags, name = set(), platform.processor()
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('flags') and not flags:
                flags = set(line.split(':', 1)[1].split())
            if line.startswith('model name'):
                name = line.split(':', 1)[1].strip()
    except OSError:
        pass
    return name, {
        f: f in flags
        for f in ('avx2', 'avx512f', 'avx512_vnni', 'avx512_bf16', 'amx_tile', 'amx_bf16')
    }


def timeit(fn, reps):
    "(best, median) seconds of `reps` calls after one warm-up."
    return best_median(repeat(fn, reps))


def peak(reps, n=2048, conv=(8, 128, 64)):
    rows = []
    for dt in (torch.float32, torch.bfloat16):
        a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
        best, med = timeit(lambda: a @ b, reps)
        rows.append(
            (
                'matmul',
                f'{n}x{n}x{n}',
                str(dt).split('.')[-1],
                2 * n**3 / best / 1e9,
                2 * n**3 / med / 1e9,
            )
        )
        B, C, S = conv
        for cl in (False, True):
            x, w = torch.randn(B, C, S, S, dtype=dt), torch.randn(C, C, 3, 3, dtype=dt)
            if cl:
                x, w = (
                    x.contiguous(memory_format=torch.channels_last),
                    w.contiguous(memory_format=torch.channels_last),
                )
            f = 2 * B * C * C * 9 * S * S
            best, med = timeit(lambda: torch.nn.functional.conv2d(x, w, padding=1), reps)
            rows.append(
                (
                    'conv3x3' + (' cl' if cl else ''),
                    f'{B}x{C}x{S}x{S}',
                    str(dt).split('.')[-1],
                    f / best / 1e9,
                    f / med / 1e9,
                )
            )
    return rows


def damm_step(batch, latent, hid, bf16, cl):
    "A DAMM training step on latents (what train_diffusion runs with cached latents), as a closure, and the net."
    from damm_nb.damm import DAMMConfig, DAMMNet, dammp_loss
    from damm_nb.unet import UNetConfig
    from damm_nb.diffusion import make_schedule, q_sample

    cfg = DAMMConfig(
        unet=UNetConfig(hid_chs=hid, groups=min(32, hid[0]))
    )  # the library's default DAMM model when hid is the default
    net, sched = DAMMNet(cfg), make_schedule()
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    z = {k: torch.randn(batch, 8, latent, latent) for k in ('target', 'vessels', 'nuclei')}
    if cl:
        net = net.to(memory_format=torch.channels_last)
        z = {k: v.contiguous(memory_format=torch.channels_last) for k, v in z.items()}

    def step():
        with torch.autocast('cpu', dtype=torch.bfloat16, enabled=bf16):
            x_t, noise, t = q_sample(z['target'], sched, generator=g)
            eu, em, U = net(x_t, t, {'vessels': z['vessels'], 'nuclei': z['nuclei']})
            loss = dammp_loss(eu, em, U, noise, cfg.gamma, cfg.alpha)[0]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step, net


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--reps', type=int, default=3)
    p.add_argument('--batch', type=int, default=8)
    p.add_argument('--latent', type=int, default=16)
    p.add_argument('--hid', default='64,128,256,512')
    p.add_argument('--n', type=int, default=2048)
    add_quick(p, reps=1, hid='8,16', n=256, batch=2, latent=8)
    a = parse(p)
    torch.set_num_threads(a.threads)
    hid = tuple(int(o) for o in a.hid.split(','))
    name, flags = cpu_info()
    print(
        f'load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} | {os.cpu_count()} CPUs | '
        f'{torch.get_num_threads()} threads | torch {torch.__version__}'
    )
    print(f'CPU: {name}; ' + ', '.join(f"{k} {'yes' if v else 'no'}" for k, v in flags.items()))
    rows = peak(a.reps, a.n)
    print(
        f"\n{'kernel':<12} {'shape':<16} {'dtype':<9} {'GFLOP/s best':>13} {'GFLOP/s median':>15}"
    )
    for r in rows:
        print(f'{r[0]:<12} {r[1]:<16} {r[2]:<9} {r[3]:13.1f} {r[4]:15.1f}')
    pk = {dt: max(r[3] for r in rows if r[2] == dt) for dt in ('float32', 'bfloat16')}
    step, net = damm_step(a.batch, a.latent, hid, False, False)
    with FlopCounterMode(display=False) as fc:
        step()
    flops = fc.get_total_flops()
    npar = sum(p.numel() for p in net.parameters())
    print(
        f'\nDAMM training step: {npar / 1e6:.1f} M parameters (two branches, hid_chs {hid}), batch {a.batch} of 8x{a.latent}x{a.latent} latents: '
        f'{flops / 1e9:.2f} GFLOP per step (FlopCounterMode)'
    )
    print(
        f"{'precision':<10} {'layout':<14} {'s/step':>8} {'GFLOP/s':>9} {'peak GFLOP/s':>13} {'MFU':>7}"
    )
    for bf16 in (False, True):
        for cl in (False, True):
            step, _ = damm_step(a.batch, a.latent, hid, bf16, cl)
            best, med = timeit(step, a.reps)
            pkd = pk['bfloat16' if bf16 else 'float32']
            print(
                f"{'bf16' if bf16 else 'fp32':<10} {'channels_last' if cl else 'contiguous':<14} {med:8.3f} {flops / med / 1e9:9.1f} {pkd:13.1f} {flops / med / 1e9 / pkd:7.1%}"
            )
    print(f'load average at the end {os.getloadavg()[0]:.2f}')


if __name__ == '__main__':
    main()
