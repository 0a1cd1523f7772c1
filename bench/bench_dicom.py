"""Throughput of `convert_tree` (1 and 2 workers) beside a bare `pydicom.dcmread` + `np.save` loop over the same files.

Usage: python bench/bench_dicom.py [--series 60] [--slices 8] [--repeats 3]
The tree is built from pydicom's own test files (MR_small.dcm 64x64, CT_small.dcm 128x128), each series a stack of
copies with its own UIDs and slice positions, patients with several dated visits. Prints a table: best wall time of
`repeats` interleaved runs, the CPU seconds of that run (children included), series/s and MB/s of DICOM input read.
"""

import argparse, os, shutil, tempfile, time, warnings
import _timing
from pathlib import Path
import numpy as np
import pydicom
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from damm_nb.dicom import convert_tree


def make_tree(root: Path, series: int, slices: int) -> list[Path]:
    "Write `series` series of `slices` files each (no .dcm suffix) in a patient/study/series layout."
    srcs = [pydicom.dcmread(get_testdata_file(f)) for f in ('MR_small.dcm', 'CT_small.dcm')]
    files = []
    for s in range(series):
        pt, visit = s % 6, (s // 6) % 4
        ds = srcs[s % 2].copy()
        ds.PatientID, ds.PatientName = f'BENCH{pt:03d}', f'Bench^Patient{pt}'
        ds.StudyInstanceUID = pydicom.uid.UID(f'1.2.826.0.1.3680043.8.498.{pt}.{visit}')
        ds.StudyDate, ds.SeriesInstanceUID, ds.SeriesNumber = (
            f'2020{visit + 1:02d}15',
            generate_uid(),
            s,
        )
        folder = root / ds.PatientID / f'study{visit}' / f'series{s:03d}'
        folder.mkdir(parents=True, exist_ok=True)
        for k in range(slices):
            ds.InstanceNumber, ds.SOPInstanceUID = k + 1, generate_uid()
            ds.ImagePositionPatient = [0.0, 0.0, 2.0 * k]
            ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
            ds.save_as(folder / f'IM{k:04d}', enforce_file_format=True)
            files.append(folder / f'IM{k:04d}')
    return files


def bare_loop(files, dst: Path):
    "The baseline: read every file with pydicom and save its pixel array."
    dst.mkdir(parents=True)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        for i, f in enumerate(files):
            np.save(dst / f'{i}.npy', pydicom.dcmread(f).pixel_array)


def timed(fn, out: Path) -> tuple[float, float]:
    "Wall and CPU seconds (this process and its children) of `fn(out)`; the output is removed afterwards."
    r = _timing.timed(fn, out)
    shutil.rmtree(out)
    return r


def _spin(n: int) -> int:
    return sum(range(n))


def headroom(n: int = 5_000_000) -> float:
    "How much faster two processes run than one on a toy CPU task right now (about 2 on an idle 2-core machine)."
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2, mp_context=mp.get_context('fork')) as ex:
        list(ex.map(_spin, [1000, 1000]))  # start the workers
        one, two = (
            _timing.timed(lambda: (_spin(n), _spin(n)))[0],
            _timing.timed(lambda: list(ex.map(_spin, [n, n])))[0],
        )
    return one / two


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--series', type=int, default=60)
    p.add_argument('--slices', type=int, default=8)
    p.add_argument('--repeats', type=int, default=5)
    _timing.add_quick(p, series=4, slices=2, repeats=1)
    a = _timing.parse(p)
    tmp = Path(tempfile.mkdtemp(prefix='bench_dicom_'))
    try:
        files = make_tree(tmp / 'src', a.series, a.slices)
        mb = sum(f.stat().st_size for f in files) / 2**20
        runs = {'bare dcmread + np.save': lambda o: bare_loop(files, o)}
        for w in (1, 2):
            runs[f'convert_tree workers={w}'] = lambda o, w=w: convert_tree(
                tmp / 'src', o, workers=w, progress=False
            )
        m = convert_tree(tmp / 'src', tmp / 'check', progress=False)
        assert (m.status == 'ok').sum() == a.series, m.attrs['summary']
        res = {k: [] for k in runs}
        for r in range(
            a.repeats
        ):  # interleaved, so that a change in machine load hits every method alike
            for k, fn in runs.items():
                res[k].append(timed(fn, tmp / f'out_{r}'))
        best = {k: min(v) for k, v in res.items()}
        hr = headroom()
        base = best['bare dcmread + np.save'][0]
        print(
            f'{a.series} series x {a.slices} slices = {len(files)} files, {mb:.1f} MB; {os.cpu_count()} CPUs, '
            f'load average {os.getloadavg()[0]:.1f}; best wall time of {a.repeats} interleaved runs'
        )
        print(
            f'parallel headroom now: 2 processes run a toy CPU task {hr:.2f}x faster than 1 (2.0 on an idle machine)'
        )
        print(
            f"{'method':<26} {'wall s':>7} {'cpu s':>6} {'series/s':>9} {'MB/s':>6} {'vs bare':>8}"
        )
        for k, (t, c) in best.items():
            print(f'{k:<26} {t:7.3f} {c:6.2f} {a.series / t:9.1f} {mb / t:6.1f} {base / t:7.2f}x')
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
