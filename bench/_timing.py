"""Timing helpers shared by the bench scripts (benchmarks, not tests): the load line each table starts with, wall and CPU
seconds of one call, repeated calls after a warm-up, and the --quick switch that shrinks a script to a plumbing check.

The scripts import it as `from _timing import ...`: `python bench/x.py` puts bench/ first on sys.path.
"""

import os, statistics, time


def load_line(*parts) -> str:
    "'load average 1 5 15 | part | ...': on a shared machine every timing depends on the load, so every table starts with it."
    return ' | '.join(
        [f'load average {" ".join(f"{o:.2f}" for o in os.getloadavg())}', *map(str, parts)]
    )


def cpu_s() -> float:
    "CPU seconds of this process and its finished children."
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, *args, **kw) -> tuple[float, float]:
    "(wall s, CPU s) of one call `fn(*args, **kw)`."
    c0, t0 = cpu_s(), time.perf_counter()
    fn(*args, **kw)
    return time.perf_counter() - t0, cpu_s() - c0


def repeat(fn, reps: int = 3, warmup: int = 1) -> list[float]:
    "Wall seconds of `reps` calls of `fn()` after `warmup` untimed calls (oneDNN builds its kernels on the first call)."
    for _ in range(warmup):
        fn()
    return [timed(fn)[0] for _ in range(reps)]


def best_median(ts) -> tuple[float, float]:
    "(best, median) of a list of seconds."
    return min(ts), statistics.median(ts)


def add_quick(p, **small):
    "Add --quick to the argparse parser `p`: tiny sizes (`small`: argument -> value) that check a script runs and prints its table."
    p.add_argument(
        '--quick',
        action='store_true',
        help='tiny sizes: checks the script runs and prints its table ('
        + ', '.join(f'{k}={v}' for k, v in small.items())
        + '); the numbers mean nothing',
    )
    p.set_defaults(_quick=small)


def parse(p, argv=None):
    "Parse the arguments of `p`, applying the --quick sizes when asked."
    a = p.parse_args(argv)
    if getattr(a, 'quick', False):
        vars(a).update(a._quick)
    return a
