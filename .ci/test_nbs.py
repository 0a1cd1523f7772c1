"""Test every notebook the way `nbdev_test` does (same skip flags, fresh kernel each), one line per notebook.

Usage: python .ci/test_nbs.py [GLOB ...] [--flags "slow gpu"] [--workers N]
Ends with the line `N passed, N failed` and exits non-zero when any notebook fails.
"""

import argparse, os, sys, time, multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path


def _run(fn, skip, force, threads):
    import io, contextlib

    os.environ.setdefault('OMP_NUM_THREADS', str(threads))
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass
    from nbdev.test import test_nb
    from nbdev.config import get_config

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        ok, secs = test_nb(
            Path(fn), skip_flags=skip, force_flags=force, basepath=get_config().config_path
        )
    return fn, ok, secs, err.getvalue()


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        'paths',
        nargs='*',
        help='notebooks to test (default: every nbs/[0-9]*.ipynb and index.ipynb)',
    )
    p.add_argument(
        '--flags',
        default='',
        help='space-separated flags whose cells run although tst_flags skips them',
    )
    p.add_argument('--workers', type=int, default=min(os.cpu_count() or 1, 2))
    a = p.parse_args()
    from nbdev.config import get_config

    cfg = get_config()
    nbs = [Path(o).absolute() for o in a.paths] or sorted(
        Path(cfg.nbs_path).glob('[0-9]*.ipynb')
    ) + [Path(cfg.nbs_path) / 'index.ipynb']
    nbs = [o.absolute() for o in nbs if o.exists() and not o.name.startswith('_')]
    skip, force = cfg.tst_flags.split(), a.flags.split()
    threads = max(1, (os.cpu_count() or 1) // max(a.workers, 1))
    os.environ['IN_TEST'] = '1'
    print(
        f'testing {len(nbs)} notebooks, {a.workers} workers, skipping cells flagged {sorted(set(skip) - set(force))}',
        flush=True,
    )
    t0, results = time.time(), []
    ctx = mp.get_context('forkserver')
    with ProcessPoolExecutor(a.workers, mp_context=ctx, max_tasks_per_child=1) as ex:
        futs = [ex.submit(_run, str(fn), skip, force, threads) for fn in nbs]
        for f in as_completed(futs):
            try:
                fn, ok, secs, err = f.result()
            except Exception as e:
                fn, ok, secs, err = '?', False, 0.0, repr(e)
            results.append(ok)
            print(f"{'PASS' if ok else 'FAIL'}  {Path(fn).name:<28} {secs:6.1f} s", flush=True)
            if not ok:
                print(err[-6000:], flush=True)
    npass = sum(results)
    nfail = len(results) - npass
    print(f'total {time.time() - t0:.1f} s')
    print(f'{npass} passed, {nfail} failed')
    sys.exit(1 if nfail or not results else 0)


if __name__ == '__main__':
    main()
