"""Package setup for damm_nb: every setting is read from `settings.ini` (nbdev 2 layout)."""
from configparser import ConfigParser
import setuptools, shlex

config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

needed = 'version description keywords author author_email lib_name user branch license status min_python audience language'.split()
missing = [o for o in needed if o not in cfg]
if missing: raise SystemExit(f"settings.ini lacks: {', '.join(missing)}")

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable', '6 - Mature', '7 - Inactive']
lic = licenses.get(cfg['license'].lower(), (cfg['license'], None))
py_versions = [v for v in '3.10 3.11 3.12 3.13'.split() if tuple(map(int, v.split('.'))) >= tuple(map(int, cfg['min_python'].split('.')))]

def _reqs(key): return shlex.split(cfg.get(key, ''))

setuptools.setup(
    name=cfg['lib_name'], version=cfg['version'], description=cfg['description'],
    keywords=cfg['keywords'], author=cfg['author'], author_email=cfg['author_email'],
    license=lic[0], url=cfg['git_url'],
    classifiers=['Development Status :: ' + statuses[int(cfg['status'])], 'Intended Audience :: ' + cfg['audience'],
                 'Natural Language :: ' + cfg['language']]
                + [f'Programming Language :: Python :: {v}' for v in py_versions],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,
    install_requires=_reqs('requirements'),
    extras_require={'dev': _reqs('dev_requirements'), 'brain': _reqs('brain_requirements'), 'bench': _reqs('bench_requirements')},
    python_requires='>=' + cfg['min_python'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    zip_safe=False,
    entry_points={'console_scripts': cfg.get('console_scripts', '').split(),
                  'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
