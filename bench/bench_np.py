"""Nanoparticle benchmark from the command line: prints each regime's table and DAMMP's branch choice.

Usage: python bench/bench_np.py [OUT] [--quick] [--n N] [--size S] [--epochs E] [--device D] [--threads T] [--data DIR]
"""

import argparse, torch
from damm_nb.experiments.np_benchmark import run_np_benchmark, verdict_text

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('out', nargs='?', default='runs/np_benchmark')
p.add_argument('--quick', action='store_true')
p.add_argument('--n', type=int)
p.add_argument('--size', type=int)
p.add_argument('--epochs', type=int)
p.add_argument('--device')
p.add_argument('--threads', type=int)
p.add_argument('--data', default=None)
a = p.parse_args()
if a.threads:
    torch.set_num_threads(a.threads)
res = run_np_benchmark(
    a.out, data_dir=a.data, n=a.n, size=a.size, epochs=a.epochs, device=a.device, quick=a.quick
)
print(f"{res['total_seconds']:.0f} s on {res['device']}; settings {res['settings']}")
for tag, r in res['regimes'].items():
    print(
        f'\n## {tag}  ({r["test_tiles"]} test tiles, {r["divergent_test_tiles"]} divergent; seconds {r["seconds"]})\n'
    )
    print(r['table'])
    print(verdict_text(r['verdict']))
    print(r['branch_table'])
