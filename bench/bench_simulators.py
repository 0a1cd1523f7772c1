"""Throughput of the simulators in damm_nb.tme and damm_nb.breast_phantom: TME samples/s at 64² and 256², breast-MRI phantom patients/s.

Usage: python bench/bench_simulators.py [--workers N] [--quick]
Writes to a temporary folder that is removed afterwards; prints one table.
"""

import argparse, os, time, shutil, tempfile
from _timing import timed, load_line
from pathlib import Path
from damm_nb.tme import simulate_tme
from damm_nb.breast_phantom import make_mri_phantom


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--workers', type=int, default=1)
    p.add_argument('--quick', action='store_true')
    a = p.parse_args()
    root = Path(tempfile.mkdtemp(prefix='bench_sim_'))
    rows = []
    try:
        for size, n in ((64, 40 if a.quick else 120), (256, 4 if a.quick else 16)):
            for w in sorted({1, a.workers}):
                s, c = timed(
                    lambda: simulate_tme(
                        root / f'tme{size}_{w}',
                        n=n,
                        size=size,
                        seed=0,
                        divergent=0.2,
                        progress=False,
                        workers=w,
                    )
                )
                rows.append((f'TME {size}x{size}', w, n, 'samples', s, c, n / s))
        n = 2 if a.quick else 8
        s, c = timed(lambda: make_mri_phantom(root / 'mri', patients=n, size=64, slices=8, seed=0))
        rows.append(('MRI phantom 64x64x8, 4 visits x 2 series', 1, n, 'patients', s, c, n / s))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"cpu cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'simulator':<42} {'workers':>7} {'n':>5} {'unit':>9} {'wall s':>8} {'cpu s':>8} {'per second':>11} {'cpu s each':>11}"
    )
    for name, w, n, unit, s, c, r in rows:
        print(f'{name:<42} {w:>7} {n:>5} {unit:>9} {s:>8.2f} {c:>8.2f} {r:>11.2f} {c / n:>11.3f}')
    best = max((r for r in rows if r[0].startswith('TME 256')), key=lambda r: r[6])
    cpu = next(r for r in rows if r[0].startswith('TME 256') and r[1] == 1)
    print(
        f'-> 1000 samples of 256x256: about {1000 / best[6] / 60:.1f} min at the measured rate ({best[1]} worker(s)); '
        f'{1000 * cpu[5] / cpu[2] / 60 / max(a.workers, 1):.1f} min of CPU time per worker on an idle machine with {max(a.workers, 1)} worker(s)'
    )


if __name__ == '__main__':
    main()
