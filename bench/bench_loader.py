"""Loader throughput: `PairedFolders` + `make_loaders` against reading the same PNG files with PIL in a plain loop.

Writes its own QD/CD31/DAPI folders of 8-bit grey PNGs (smooth random textures) at 64² and 256², then reads every
sample (3 images) per epoch and prints images/s. Usage: python bench/bench_loader.py [--n 300] [--workers 0 1 2]
"""

import argparse, os, shutil, tempfile, time
from _timing import repeat, add_quick, parse, load_line
from pathlib import Path
import numpy as np
import torch
from PIL import Image
from damm_nb.data import PairedFolders, make_loaders

MODS = ('QD', 'CD31', 'DAPI')


def make_folder(root, n, size, seed=0):
    "n samples of smooth random texture plus a little noise, same file names in each modality folder."
    r = np.random.default_rng(seed)
    for f in MODS:
        (root / f).mkdir(parents=True, exist_ok=True)
    for k in range(n):
        for f in MODS:
            lo = Image.fromarray(r.integers(0, 256, (size // 8, size // 8), dtype=np.uint8)).resize(
                (size, size), Image.BICUBIC
            )
            a = np.clip(np.asarray(lo, np.int16) + r.integers(-8, 9, (size, size)), 0, 255).astype(
                np.uint8
            )
            Image.fromarray(a).save(root / f / f'IMG{k // 4:04d}_{k % 4}.png')
    return root


def pil_loop(root, names):
    "Baseline: open each file with PIL, to float in [-1, 1], to a tensor; no batching."
    for n in names:
        item = {
            f: torch.from_numpy(
                np.asarray(Image.open(root / f / n), dtype=np.float32)[None] / 127.5 - 1
            )
            for f in MODS
        }
    return item


def epoch_rate(fn, n_images, epochs=3):
    "images/s of the first epoch and the best of the later ones (the machine may be shared)."
    out = [n_images / s for s in repeat(fn, epochs, warmup=0)]
    return out[0], max(out[1:])


def drain(dl):
    for b in dl:
        pass


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=300, help='samples (x3 images) per size')
    p.add_argument('--sizes', type=int, nargs='+', default=[64, 256])
    p.add_argument('--workers', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--batch', type=int, default=32)
    p.add_argument(
        '--threads',
        type=int,
        default=1,
        help='torch threads in the main process (loader workers use 1)',
    )
    add_quick(p, n=12, sizes=[16], workers=[0], batch=4)
    a = parse(p)
    torch.set_num_threads(
        a.threads
    )  # on a loaded 2-core machine, 2 OpenMP threads made torch.stack ~50x slower
    tmp = Path(tempfile.mkdtemp(prefix='bench_loader_'))
    print(
        f'torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, CUDA {torch.cuda.is_available()}'
    )
    print(
        f'{a.n} samples x 3 modalities per size; images/s: epoch 1 (includes worker start-up) and best of epochs 2-3\n'
    )
    rows = []
    try:
        for s in a.sizes:
            root = make_folder(tmp / f's{s}', a.n, s)
            names = sorted(os.listdir(root / 'QD'))
            ni = 3 * len(names)
            base = epoch_rate(lambda: pil_loop(root, names), ni)
            rows.append((s, 'PIL plain loop', '-', *base))
            ds = PairedFolders(root, img_size=s)
            rows.append(
                (
                    s,
                    'PairedFolders, index loop',
                    '-',
                    *epoch_rate(lambda: [ds[i] for i in range(len(ds))], ni),
                )
            )
            for w in a.workers:
                dl = make_loaders(None, ds, batch_size=a.batch, num_workers=w)[
                    1
                ]  # in order, every item
                rows.append((s, 'make_loaders', str(w), *epoch_rate(lambda: drain(dl), ni)))
                del dl
            dc = PairedFolders(root, img_size=s, cache=True).preload()
            dl = make_loaders(None, dc, batch_size=a.batch, num_workers=0)[1]
            rows.append((s, 'make_loaders, cache=True', '0', *epoch_rate(lambda: drain(dl), ni)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"{'size':>5} | {'method':<26} | {'workers':>7} | {'epoch 1 img/s':>13} | {'later img/s':>13} | {'vs PIL':>6}"
    )
    print('-' * 86)
    for s, m, w, e1, e2 in rows:
        print(
            f'{s:>5} | {m:<26} | {w:>7} | {e1:>13,.0f} | {e2:>13,.0f} | {e2 / [r for r in rows if r[0] == s][0][4]:>5.2f}x'
        )


if __name__ == '__main__':
    main()
