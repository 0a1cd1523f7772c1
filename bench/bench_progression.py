"""Run the I-SPY1 progression study's two experiments end to end on the breast-MRI phantom and print their tables.

Usage: python bench/bench_progression.py [--out DIR] [--patients 20] [--steps 100] [--prog-steps 120] [--quick] [--device cpu]
Writes DIR/denoising and DIR/progression (figures, table.md, per-image CSV, metrics.json); the phantom goes to DIR/phantom.
"""

import argparse, time
from pathlib import Path
from damm_nb.experiments.denoising import prepare_phantom, run_denoising_experiment
from damm_nb.experiments.progression import run_progression_experiment


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default='bench_progression_out')
    p.add_argument('--patients', type=int, default=20)
    p.add_argument('--steps', type=int, default=100, help='denoising DDPM training steps')
    p.add_argument(
        '--prog-steps',
        type=int,
        default=120,
        help='progression DDPM training steps (U-Net: 2/3 of it)',
    )
    p.add_argument(
        '--quick',
        action='store_true',
        help='4 patients, 16x16 slices, a few steps: checks the plumbing only',
    )
    p.add_argument('--device', default=None)
    a = p.parse_args()
    out = Path(a.out)
    kw = dict(size=16, batch_size=4, max_test=16) if a.quick else {}
    pats, steps, psteps = (4, 3, 3) if a.quick else (a.patients, a.steps, a.prog_steps)
    t0 = time.time()
    npy, truth = prepare_phantom(
        out / 'phantom',
        patients=pats,
        size=32 if a.quick else 64,
        slices=4 if a.quick else 8,
        progress=False,
    )
    fr = (0.5, 0.0, 0.5) if a.quick else (0.8, 0.1, 0.1)
    print(f'phantom ready: {time.time() - t0:.0f} s', flush=True)
    den = run_denoising_experiment(
        npy, out / 'denoising', steps=steps, device=a.device, fractions=fr, **kw
    )
    print(
        f"\n## Denoising ({den['train_s']} s training, {den['eval_s']} s evaluation)\n\n{den['table']}\n\nbeats the noisy input: {den['beats_noisy']}",
        flush=True,
    )
    kw.pop('max_test', None)
    prog = run_progression_experiment(
        npy,
        truth,
        out / 'progression',
        steps=psteps,
        reg_steps=max(1, 2 * psteps // 3),
        device=a.device,
        fractions=fr,
        **kw,
    )
    print(
        f"\n## Progression ({prog['train_s']} s training, {prog['eval_s']} s evaluation)\n\n{prog['table']}\n\n{prog['table_by_interval']}"
        f"\n\n{prog['verdict_text']}\ntotal {time.time() - t0:.0f} s"
    )


if __name__ == '__main__':
    main()
