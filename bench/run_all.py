"""Run every benchmark script in sequence and collect their tables into one Markdown file (the rerun on a quiet machine).

Each script runs in its own process, one after the other (never two at once: they would time each other), with the
arguments below (the full runs; `--quick` instead gives each script its tiny sizes, a check that it runs and prints its
table, whose numbers mean nothing). The file gets, per script, the exact command, the load average before it, its
output, its wall time and exit status; a script that fails or runs past --timeout is recorded as such and the rest go on.

Usage: python bench/run_all.py [--quick] [--out bench/results-DATE.md] [--only peak,samplers] [--timeout 3600]
"""

import argparse, datetime, os, platform, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FULL = {  # script -> arguments of the full run (as in bench/RESULTS.md): both cores, on a machine with nothing else running
    'peak': ['--threads', '2', '--reps', '3'],
    'peers': ['--threads', '2', '--reps', '3', '--precisions', 'fp32'],
    'compile': ['--threads', '2', '--reps', '3'],
    'unet': ['--threads', '2'],
    'samplers': ['--threads', '2', '--time-batch', '2'],
    'scaling': ['--threads', '2', '--reps', '2'],
    'dammp': ['--threads', '2', '--unet', 'small'],
    'loader': [],
    'dicom': [],
    'simulators': [],
    'progression': [],
    'np': [],
}


def run(name: str, args: list, timeout: float) -> tuple[str, int | None, float, str]:
    "(command, exit status or None on timeout, wall s, output) of one script."
    cmd = [sys.executable, '-u', str(HERE / f'bench_{name}.py'), *args]
    t0 = time.perf_counter()
    env = {
        **os.environ,
        'PYTHONPATH': os.pathsep.join([str(HERE.parent), os.environ.get('PYTHONPATH', '')]),
    }  # this checkout's damm_nb
    try:
        with tempfile.TemporaryDirectory(
            prefix=f'bench_{name}_'
        ) as tmp:  # the scripts' own output folders land here, not in the repository
            p = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp, env=env
            )
        rc, out = p.returncode, p.stdout + p.stderr[-3000:]
    except subprocess.TimeoutExpired as e:
        rc, out = (
            None,
            (e.stdout or b'').decode(errors='replace')
            if isinstance(e.stdout, bytes)
            else (e.stdout or ''),
        )
    return (
        ' '.join(['python -u', f'bench/bench_{name}.py', *args]),
        rc,
        time.perf_counter() - t0,
        out,
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        '--quick',
        action='store_true',
        help="each script's --quick sizes: a check that every script runs",
    )
    p.add_argument(
        '--out',
        default=None,
        help='Markdown file to write (default bench/results-<UTC date and time>[-quick].md)',
    )
    p.add_argument(
        '--only',
        default=None,
        help='comma-separated scripts (names as in bench_<name>.py); default all: '
        + ','.join(FULL),
    )
    p.add_argument('--timeout', type=float, default=3600, help='seconds per script')
    a = p.parse_args(argv)
    names = a.only.split(',') if a.only else list(FULL)
    unknown = [n for n in names if n not in FULL]
    if unknown:
        p.error(f'unknown scripts {unknown}; choose from {list(FULL)}')
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d-%H%M')
    out = Path(a.out or HERE / f"results-{stamp}{'-quick' if a.quick else ''}.md")
    env = f'{platform.node()}, {os.cpu_count()} CPUs, Python {platform.python_version()}'
    parts = [
        f"# Benchmark run {stamp} UTC{' (--quick: plumbing check, numbers mean nothing)' if a.quick else ''}\n\n{env}\n"
    ]
    failed = []
    for n in names:
        args = ['--quick'] if a.quick else FULL[n]
        load = ' '.join(f'{o:.2f}' for o in os.getloadavg())
        print(f'{n} ...', end=' ', flush=True)
        cmd, rc, secs, text = run(n, args, a.timeout)
        status = 'ok' if rc == 0 else 'timed out' if rc is None else f'exit status {rc}'
        print(f'{status} ({secs:.0f} s)', flush=True)
        if rc != 0:
            failed.append(n)
        parts.append(
            f'## {n}\n`{cmd}`  (load average before: {load}; {secs:.0f} s; {status})\n\n```\n{text.rstrip()}\n```\n'
        )
        out.write_text(
            '\n'.join(parts)
        )  # after every script, so that a stopped run keeps what it measured
    print(f'wrote {out}' + (f'; failed: {failed}' if failed else ''))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
