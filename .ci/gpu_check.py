"""GPU readiness: a few training steps at the paper's sizes, then the notebooks' `#| gpu` cells (`make gpu-check`).

The steps: the VQ-GAN embedder (256² images, x16 down: 8x16x16 latents) and DAMM-Diffusion (two U-Net branches of
channels 64-128-256-512 on the latents of three such embedders, encoding every batch), batch 32, precision '16-mixed',
through `damm_nb.train.fit` as the commands train; each prints its median step time, images/s and peak GPU memory.
Then every notebook with a `#| gpu` cell runs under .ci/test_nbs.py with that flag forced (IN_TEST is set, so their
other cells keep their test sizes). Without CUDA it says so and exits 0: nothing here can run on a CPU.

Usage: python .ci/gpu_check.py [--steps 12] [--batch 32] [--compile] [--no-notebooks] [--nb-timeout 1800]
"""

import argparse, json, os, signal, statistics, subprocess, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def gpu_notebooks() -> list[Path]:
    "The notebooks with a cell flagged `#| gpu` (the flag on the cell's first line, as nbdev reads it)."
    out = []
    for p in sorted((ROOT / 'nbs').glob('[0-9]*.ipynb')):
        cells = json.loads(p.read_text())['cells']
        firsts = [
            ''.join(c['source']).lstrip().split('\n', 1)[0]
            for c in cells
            if c['cell_type'] == 'code'
        ]
        if any(o.replace(' ', '') == '#|gpu' for o in firsts):
            out.append(p)
    return out


def time_steps(name: str, task, data: dict, batch: int):
    "Train `task` on `data` for its TrainConfig's steps; print the median step time, images/s and peak memory."
    import torch
    from damm_nb.train import fit

    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    r = fit(task, data)
    wall = time.perf_counter() - t0
    sec = (
        r['history'].seconds.diff().iloc[2:]
    )  # per step, after the first steps (cuDNN picks its kernels)
    s = statistics.median(sec)
    peak = torch.cuda.max_memory_allocated() / 2**30
    print(
        f'{name:<34} {s * 1e3:8.1f} ms/step {batch / s:9.1f} img/s {peak:7.2f} GiB peak  ({wall:.0f} s with start-up)',
        flush=True,
    )


def paper_steps(steps: int, batch: int, compile: bool):
    "A few training steps of the embedder and of DAMM-Diffusion at the paper's sizes."
    import torch
    from damm_nb.embedder import EmbedderConfig
    from damm_nb.damm import DAMMConfig
    from damm_nb.train import TrainConfig, EmbedderModule, DiffusionModule

    tc = TrainConfig(
        out=None,
        max_steps=steps,
        batch_size=batch,
        precision='16-mixed',
        accelerator='gpu',
        devices=1,
        compile=compile,
        progress=False,
    )
    g = torch.Generator().manual_seed(0)
    imgs = {
        k: torch.rand(2 * batch, 1, 256, 256, generator=g) * 2 - 1
        for k in ('target', 'vessels', 'nuclei')
    }
    ecfg = (
        EmbedderConfig()
    )  # the paper's VQ-GAN: 4 levels, x16 down, 8 latent channels, 16384 codes
    print(
        f'{torch.cuda.get_device_name()}, torch {torch.__version__}, batch {batch}, 16-mixed, compile {compile}'
    )
    time_steps(
        'VQ-GAN embedder, 256² -> 8x16x16',
        EmbedderModule(ecfg, tc, 'image'),
        {'image': imgs['target']},
        batch,
    )
    cfg = DAMMConfig()  # U-Net channels 64-128-256-512, 2 blocks per level, in both branches
    task = DiffusionModule(cfg, tc, {k: ecfg for k in imgs})
    n = sum(p.numel() for p in task.pipe.net.parameters()) / 1e6
    time_steps(f'DAMM-Diffusion ({n:.0f} M), 256² images', task, imgs, batch)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        '--steps',
        type=int,
        default=12,
        help='training steps of each model (the first 2 are not timed)',
    )
    p.add_argument('--batch', type=int, default=32)
    p.add_argument(
        '--compile', action='store_true', help='also train with TrainConfig(compile=True)'
    )
    p.add_argument('--no-notebooks', action='store_true', help='only the training steps')
    p.add_argument('--nb-timeout', type=float, default=1800, help='seconds for each notebook')
    a = p.parse_args()
    import torch

    if not torch.cuda.is_available():
        print(
            f'gpu-check needs CUDA: torch {torch.__version__} sees no GPU here, so nothing was run.'
        )
        return 0
    sys.path.insert(0, str(ROOT))
    for c in [False, True] if a.compile else [False]:
        paper_steps(a.steps, a.batch, c)
    if a.no_notebooks:
        return 0
    nbs = gpu_notebooks()
    print(f'\n`#| gpu` cells of {", ".join(o.name for o in nbs)}', flush=True)
    fails = 0
    for nb in nbs:  # one at a time: each may take the whole GPU
        cmd = [
            sys.executable,
            str(ROOT / '.ci' / 'test_nbs.py'),
            str(nb),
            '--flags',
            'gpu',
            '--workers',
            '1',
        ]
        proc = subprocess.Popen(cmd, cwd=ROOT, start_new_session=True)
        try:
            fails += proc.wait(timeout=a.nb_timeout) != 0
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the runner and its kernel processes
            print(f'TIMEOUT {nb.name} after {a.nb_timeout:.0f} s', flush=True)
            fails += 1
    return 1 if fails else 0


if __name__ == '__main__':
    sys.exit(main())
