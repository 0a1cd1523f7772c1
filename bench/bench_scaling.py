"""How the cost of a training step grows with image size and batch (a benchmark, not a test).

A NoiseUNet training step (forward, L1 eps loss, backward, AdamW) at 64^2, 128^2, 256^2 and batch 8 and 32, each in a fresh
process so that the peak resident memory (ru_maxrss) is that configuration's own: the table gives the peak added by the
step over the process after building the model and data. Small channels (--hid, default 16,32,64 with 1 block per level) so
that the largest case finishes on a shared 2-core machine; time scales with pixels x batch for any width.

Usage: python bench/bench_scaling.py [--threads 2] [--reps 2] [--hid 16,32,64] [--sizes 64,128,256] [--batches 8,32]
"""

import argparse, json, os, subprocess, sys
from _timing import add_quick, parse, load_line

CHILD = r'''
import json, resource, statistics, sys, time, torch
sys.path.insert(0, sys.argv[2]); from _timing import repeat
from damm_nb.unet import NoiseUNet, UNetConfig
from damm_nb.diffusion import make_schedule, training_loss
size, batch, hid, reps, threads, cl = json.loads(sys.argv[1])
torch.set_num_threads(threads)
net = NoiseUNet(UNetConfig(in_ch=1, out_ch=1, hid_chs=tuple(hid), blocks=1, time_dim=hid[0], emb_dim=4 * hid[0], groups=8))
opt, sched, g = torch.optim.AdamW(net.parameters(), lr=1e-4), make_schedule(), torch.Generator().manual_seed(0)
x0 = torch.randn(batch, 1, size, size)
if cl: net, x0 = net.to(memory_format=torch.channels_last), x0.contiguous(memory_format=torch.channels_last)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
def step():
    loss = training_loss(net, x0, sched, generator=g); opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
ts = repeat(step, reps)
print(json.dumps(dict(s=statistics.median(ts), mib=(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) / 1024,
                      params=sum(p.numel() for p in net.parameters()))))
'''


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--threads', type=int, default=2)
    p.add_argument('--reps', type=int, default=2)
    p.add_argument('--hid', default='16,32,64')
    p.add_argument('--sizes', default='64,128,256')
    p.add_argument('--batches', default='8,32')
    p.add_argument('--channels-last', action='store_true')
    add_quick(p, reps=1, hid='8,16,32', sizes='16,32', batches='2')
    a = parse(p)
    hid = [int(o) for o in a.hid.split(',')]
    print(
        f'load average {" ".join(f"{o:.2f}" for o in os.getloadavg())} | {a.threads} threads | NoiseUNet hid_chs {tuple(hid)}, '
        f'1 block/level, fp32{", channels_last" if a.channels_last else ""}, median of {a.reps} steps after one warm-up'
    )
    print(
        f"\n{'size':>6} {'batch':>6} {'s/step':>8} {'ms/Mpixel':>10} {'img/s':>8} {'peak MiB':>9} {'MiB/Mpixel':>11}"
    )
    for size in map(int, a.sizes.split(',')):
        for batch in map(int, a.batches.split(',')):
            out = subprocess.run(
                [
                    sys.executable,
                    '-c',
                    CHILD,
                    json.dumps([size, batch, hid, a.reps, a.threads, a.channels_last]),
                    os.path.dirname(os.path.abspath(__file__)),
                ],
                capture_output=True,
                text=True,
            )
            if out.returncode:
                print(f'{size:>6} {batch:>6} failed: {out.stderr.strip().splitlines()[-1:]}')
                continue
            r = json.loads(out.stdout.strip().splitlines()[-1])
            mpx = size * size * batch / 1e6
            print(
                f"{size:>6} {batch:>6} {r['s']:8.3f} {r['s'] * 1e3 / mpx:10.1f} {batch / r['s']:8.2f} {r['mib']:9.0f} {r['mib'] / mpx:11.0f}",
                flush=True,
            )
    print(
        f'({r["params"] / 1e6:.3f} M parameters) load average at the end {os.getloadavg()[0]:.2f}'
    )


if __name__ == '__main__':
    main()
