"""Offline documentation site: `nbdev_proc_nbs` → nbconvert HTML in `_docs/`, one page per notebook, with navigation.

`nbdev_docs` needs Quarto, which cannot be installed on every machine; this build needs only pip packages.
`--readme` also rewrites README.md from nbs/index.ipynb (what `nbdev_readme` does with Quarto).
`--check` fails when a notebook has no page, a page links to a missing page, or an image is missing.
"""

import argparse, html, importlib, json, re, shutil, subprocess, sys
from pathlib import Path
import nbformat, yaml
from nbconvert import HTMLExporter, MarkdownExporter
from nbdev.config import get_config

cfg = get_config()
NBS, DOCS, PROC = Path(cfg.nbs_path), Path(cfg.doc_path), Path(cfg.config_path) / '_proc'
MATHJAX = Path(
    '/usr/share/javascript/mathjax'
)  # Debian's libjs-mathjax (MathJax 2.7): copied into the site, so formulas render offline
MATHJAX_PARTS = [
    'MathJax.js',
    'config/TeX-AMS_CHTML-full.js',
    'config/Safe.js',
    'extensions',
    'jax/input/TeX',
    'jax/output/CommonHTML',
    'jax/element',
    'fonts/HTML-CSS/TeX/woff',
]


def page_name(fn):
    return 'index.html' if fn.stem == 'index' else re.sub(r'^\d+[a-z]?_', '', fn.stem) + '.html'


def _module(src_nb):
    for c in json.loads(src_nb.read_text())['cells']:
        m = re.search(r'#\|\s*default_exp\s+(\S+)', ''.join(c['source']))
        if m:
            return importlib.import_module(f"{cfg.lib_name}.{m.group(1)}")


def _render_show_doc(nb, mod):
    "Replace each `show_doc(x)` cell by the markdown that nbdev's renderer makes for x."
    from nbdev.showdoc import show_doc

    ns = dict(vars(mod)) if mod else {}
    for i, c in enumerate(nb.cells):
        if c.cell_type == 'code' and 'show_doc(' in c.source:
            expr = re.search(r'show_doc\((.+)\)\s*$', c.source.strip(), re.S).group(1)
            try:
                md = show_doc(eval(expr, ns))._repr_markdown_()
            except Exception as e:
                md = f'`{expr}` (no doc: {e})'
            md = re.sub(
                r'(\]\([^)\s]*\))\{[^}\n]*\}', r'\1', md
            )  # Quarto link attributes {target=...} are not Markdown
            nb.cells[i] = nbformat.v4.new_markdown_cell(md)


def _clean(nb):
    nb.metadata.pop('execution', None)
    for c in nb.cells:
        c.pop('has_sd', None)
        if c.cell_type == 'raw' and c.source.startswith(
            '---'
        ):  # nbdev's front matter back to the page's title and summary
            fm = yaml.safe_load(c.source.strip().strip('-')) or {}
            c.cell_type, c.source = (
                'markdown',
                f"# {fm.get('title', '')}"
                + (f"\n\n> {fm['description']}" if fm.get('description') else ''),
            )
            c.pop('outputs', None)
            c.pop('execution_count', None)
            c.metadata['front_matter'] = True
        if c.cell_type == 'code':
            if re.search(r'^#\|\s*echo:\s*false', c.source, re.M):
                c.metadata.setdefault('tags', []).append('remove_input')
            c.source = '\n'.join(l for l in c.source.splitlines() if not l.startswith('#|'))
    nb.cells = [c for c in nb.cells if c.source.strip() or c.get('outputs')]
    return nb


def _title(src_nb):
    for c in json.loads(src_nb.read_text())['cells']:
        m = re.match(r'#\s+(.+)', ''.join(c['source']))
        if c['cell_type'] == 'markdown' and m:
            return m.group(1).strip()
    return src_nb.stem


def build(readme=False):
    exe = Path(sys.executable).parent / 'nbdev_proc_nbs'
    r = subprocess.run(
        [str(exe) if exe.exists() else 'nbdev_proc_nbs'], capture_output=True, text=True
    )
    if r.returncode:
        sys.exit(f'nbdev_proc_nbs failed:\n{r.stderr[-3000:]}')
    srcs = sorted(NBS.glob('[0-9]*.ipynb'))
    srcs = [NBS / 'index.ipynb'] + srcs
    DOCS.mkdir(exist_ok=True)
    if (NBS / 'images').is_dir():
        shutil.copytree(
            NBS / 'images', DOCS / 'images', dirs_exist_ok=True
        )  # pictures the pages refer to
    nav = ''.join(
        f'<a href="{page_name(s)}">{html.escape(_title(s) if s.stem != "index" else "Home")}</a>'
        for s in srcs
    )
    style = (
        '<style>nav.damm{position:sticky;top:0;background:#f6f8fa;border-bottom:1px solid #ddd;padding:6px 12px;'
        'z-index:99;font-family:sans-serif;font-size:14px} nav.damm a{margin-right:14px}</style>'
    )
    from traitlets.config import Config

    tc = Config()
    tc.TagRemovePreprocessor.remove_input_tags = {'remove_input'}
    tc.TagRemovePreprocessor.enabled = True
    exp = HTMLExporter(
        template_name='lab',
        config=tc,
        embed_images=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    if (MATHJAX / 'MathJax.js').exists():
        for part in MATHJAX_PARTS:
            src, dst = MATHJAX / part, DOCS / 'mathjax' / part
            if src.is_dir():
                shutil.copytree(src, dst, dirs_exist_ok=True)
            elif src.exists():
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)
        exp.mathjax_url = 'mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe'
    for s in srcs:
        nb = nbformat.read(PROC / s.name, as_version=4)
        _render_show_doc(nb, _module(s) if s.stem != 'index' else None)
        body, _ = exp.from_notebook_node(
            _clean(nb), resources={'metadata': {'path': str(NBS.absolute()), 'name': _title(s)}}
        )
        body = body.replace('<body', f'<body', 1)
        body = re.sub(
            r'(<body[^>]*>)', r'\1' + style + f'<nav class="damm">{nav}</nav>', body, count=1
        )
        (DOCS / page_name(s)).write_text(body, encoding='utf-8')
        if readme and s.stem == 'index':
            md, _ = MarkdownExporter(config=tc).from_notebook_node(
                nbformat.v4.new_notebook(
                    cells=[c for c in nb.cells if not c.metadata.get('front_matter')],
                    metadata=nb.metadata,
                )
            )
            md = md.replace('](images/', '](nbs/images/')
            head = ''.join(json.loads(s.read_text())['cells'][0]['source']).strip()
            md = md.replace(
                '<!-- WARNING: THIS FILE WAS AUTOGENERATED! DO NOT EDIT! -->', ''
            ).strip()
            Path('README.md').write_text(head + '\n\n' + md + '\n', encoding='utf-8')
    return srcs


def check(srcs):
    bad = [
        f'missing page {page_name(s)} for {s.name}'
        for s in srcs
        if not (DOCS / page_name(s)).exists()
    ]
    for p in DOCS.glob('*.html'):
        t = p.read_text(encoding='utf-8')
        for href in re.findall(r'href="([^"#:]+\.html)"', t):
            if not (DOCS / href).exists():
                bad.append(f'{p.name}: broken link {href}')
        for src in re.findall(r'<img[^>]+src="([^"]+)"', t):
            if not src.startswith('data:') and not (DOCS / src).exists():
                bad.append(f'{p.name}: missing image {src}')
    for b in bad:
        print('DOCS:', b)
    print(f'docs: {len(srcs)} pages in {DOCS}/, {len(bad)} problems')
    return not bad


if __name__ == '__main__':
    a = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    a.add_argument('--readme', action='store_true')
    a.add_argument('--check', action='store_true')
    a = a.parse_args()
    srcs = build(a.readme)
    if a.check and not check(srcs):
        sys.exit(1)
