"""Check the explorer in a real JupyterLab: headless Chromium runs a notebook that opens `damm_nb.explorer.Explorer` on a checkpoint, and uses the widget.

Starts `jupyter lab` (127.0.0.1, a free port, a token, a root folder: a fresh temporary one unless --root), writes a notebook into
that root which builds the explorer from --checkpoint, and opens it in one headless Chromium driven over the DevTools protocol (the
`Chromium` class of `.ci/check_site.py`; needs Debian's `chromium` and `websocket-client`). Chromium runs the notebook with
JupyterLab's 'Run All Cells' command, picks another sample in the widget's dropdown and clicks its 'Sample' button.
Fails on: a cell with an error output; a widget that the ipywidgets extension did not render (its dropdowns, buttons, uploads,
slider and images missing); an error message shown in the widget (e.g. no data-set samples); a sample choice that does not redraw
the modalities; a 'Sample' click that does not draw the step and uncertainty figures and the download links; a figure whose shown
aspect ratio differs from its PNG's, or that is shown larger than its PNG (stretched by the flex layout).
The kernel's working directory is the root, so with the default (temporary) root the checkpoint's data folder, stored relative to
the folder the run started in, is only found through `damm_nb.explorer.find_data_root`.

With --progression, the notebook gets another cell, `ProgressionExplorer(load_progression(PATH))`, and Chromium uploads one DICOM
series through the widget's real file chooser: it clicks the FileUpload button, catches the file chooser the page opens (DevTools'
`Page.setInterceptFileChooserDialog`) and fills its <input type=file> with `DOM.setFileInputFiles`, so the ipywidgets extension
reads the files in the browser and syncs them to the kernel as a reader's upload does. The series is --dicom, else the first
post-contrast series under data/phantom_mri of --root, of the run folder holding the checkpoint (<run>/report/progression/...) or
of the working directory. Then it clicks 'Predict'. Fails on: the widget without its upload, days slider or Predict button; an
upload the widget does not count; a 'Predict' that does not draw the forecast figure and its 7 download links; an error message
or a traceback in the widget. Last it uploads a file of random bytes and fails unless the widget shows a message naming that
file, with no traceback and no forecast left on show.

Usage: python .ci/check_lab.py --checkpoint PATH [--root DIR] [--screenshot nbs/images/lab_explorer.png] [--split test] [--steps 4] [--K 2]
                               [--progression PATH [--dicom DIR] [--progression-screenshot nbs/images/lab_progression.png]]
"""

import argparse, base64, contextlib, json, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent))
from check_site import Chromium  # one headless Chromium over the DevTools protocol

REPO = Path(__file__).absolute().parents[1]


class CheckFailed(Exception):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tail(path: Path, n: int = 40) -> str:
    with contextlib.suppress(OSError):
        return '\n'.join(path.read_text(errors='replace').splitlines()[-n:])
    return ''


def write_notebook(
    path: Path, ckpt: Path, split: str | None, steps: int, K: int, progression: Path | None = None
) -> list:
    "The notebook a reader would write: load the checkpoint, build the explorer, show it (and the progression explorer). Returns the widget cells' indices."
    cells = [
        f"import os, damm_nb\nfrom damm_nb.explorer import Explorer, load_model\npipe = load_model({str(ckpt)!r})\n"
        f"print(f'damm_nb {{damm_nb.__version__}} from {{os.path.dirname(damm_nb.__file__)}}; working directory {{os.getcwd()}}; data folder {{pipe.data_root}}')",
        f"ex = Explorer(pipe, split={split!r}, steps={steps}, K={K})\nex",
    ]
    if progression:
        cells.append(
            f"from damm_nb.explorer import ProgressionExplorer\nfrom damm_nb.experiments.progression import load_progression\n"
            f"ProgressionExplorer(load_progression({str(progression)!r}))"
        )
    nb = dict(
        nbformat=4,
        nbformat_minor=5,
        cells=[
            dict(
                cell_type='code',
                id=f'cell{i}',
                metadata={},
                source=s,
                outputs=[],
                execution_count=None,
            )
            for i, s in enumerate(cells)
        ],
        metadata=dict(
            kernelspec=dict(name='python3', display_name='Python 3 (ipykernel)', language='python')
        ),
    )
    path.write_text(json.dumps(nb, indent=1))
    return list(range(1, len(cells)))


def find_series(dicom: str | None, roots: list) -> tuple[Path, list]:
    "The series folder to upload and its files: --dicom, else the first post-contrast series under <root>/data/phantom_mri of the first root that has one."
    if dicom:
        d = Path(dicom).absolute()
        if not d.is_dir():
            raise CheckFailed(f'--dicom {d} is not a folder')
    else:
        tried = [Path(r).absolute() / 'data' / 'phantom_mri' for r in roots if r]
        found = [
            s
            for t in tried
            if t.is_dir()
            for s in sorted(t.glob('*/*/*'))
            if s.is_dir() and 'post contrast' in s.name.lower()
        ]
        if not found:
            raise CheckFailed(
                'no DICOM series to upload: no post-contrast series (patient/visit/"...post contrast..." folders) under '
                + ', '.join(map(str, dict.fromkeys(tried)))
                + '; run `make demo` or pass --dicom DIR (one series folder)'
            )
        d = found[0]
    files = sorted(f for f in d.iterdir() if f.is_file())
    if not files:
        raise CheckFailed(
            f'{d}: no files to upload (give one series folder, with the files of its slices in it)'
        )
    return d, files


@contextlib.contextmanager
def lab_server(root: Path, tmp: Path, timeout: float):
    "A JupyterLab server on 127.0.0.1 with its own config, settings and runtime folders; yields (base URL, token)."
    port, token = free_port(), secrets.token_hex(16)
    notes = tmp / 'settings' / '@jupyterlab' / 'apputils-extension'
    notes.mkdir(parents=True)  # no news or update toasts in the screenshot
    (notes / 'notification.jupyterlab-settings').write_text(
        json.dumps(dict(fetchNews='false', checkForUpdates=False, doNotDisturbMode=True))
    )
    env = dict(
        os.environ,
        PATH=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get('PATH', '')]
        ),  # the kernel's `python` is this one
        PYTHONPATH=os.pathsep.join(
            [str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]
        ),  # this checkout's damm_nb
        JUPYTER_CONFIG_DIR=str(tmp / 'config'),
        JUPYTER_DATA_DIR=str(tmp / 'data'),
        JUPYTER_RUNTIME_DIR=str(tmp / 'runtime'),
        IPYTHONDIR=str(tmp / 'ipython'),
    )
    cmd = [
        sys.executable,
        '-m',
        'jupyterlab',
        '--no-browser',
        '--allow-root',
        '--ip=127.0.0.1',
        f'--port={port}',
        '--ServerApp.port_retries=0',
        f'--IdentityProvider.token={token}',
        f'--ServerApp.root_dir={root}',
        '--ServerApp.terminals_enabled=False',
        f'--FileCheckpoints.checkpoint_dir={tmp / "checkpoints"}',  # Lab's file checkpoints stay out of the root
        f'--LabApp.user_settings_dir={tmp / "settings"}',
        f'--LabApp.workspaces_dir={tmp / "workspaces"}',
        '--LabApp.expose_app_in_browser=True',
        '--LabApp.news_url=None',
        '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
    ]
    log = open(tmp / 'lab.log', 'wb')
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    base, auth = f'http://127.0.0.1:{port}/', {'Authorization': f'token {token}'}
    try:
        t0 = time.time()
        while True:
            if proc.poll() is not None:
                raise CheckFailed(
                    f'jupyter lab exited with {proc.returncode}; its log ends:\n{tail(tmp / "lab.log")}'
                )
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(
                    urllib.request.Request(base + 'api/status', headers=auth), timeout=5
                ) as r:
                    if r.status == 200:
                        break
            if time.time() - t0 > timeout:
                raise CheckFailed(
                    f'jupyter lab did not answer within {timeout:.0f} s; its log ends:\n{tail(tmp / "lab.log")}'
                )
            time.sleep(0.3)
        yield base, token
    finally:  # the server shuts its kernels down; the process group is ours, so whatever is left of it is ended too
        with contextlib.suppress(OSError):
            urllib.request.urlopen(
                urllib.request.Request(base + 'api/shutdown', method='POST', headers=auth),
                timeout=10,
            )
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


class Page:
    "The Lab page in Chromium: evaluate scripts, wait for conditions, keep the page's console errors."

    def __init__(self, cr: Chromium, nb_name: str):
        self.cr, self.console = cr, []
        self.nb = f"[...jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === {json.dumps(nb_name)})"

    def js(self, expr: str, await_promise: bool = False):
        r = self.cr.call(
            'Runtime.evaluate', expression=expr, awaitPromise=await_promise, returnByValue=True
        )
        self.drain()
        if 'exceptionDetails' in r:
            d = r['exceptionDetails']
            raise CheckFailed(
                f"script in the page failed: {d.get('exception', {}).get('description', d.get('text'))}\n{expr[:300]}"
            )
        return r['result'].get('value')

    def drain(self):
        for e in self.cr.events:
            p = e.get('params', {})
            if e.get('method') == 'Runtime.exceptionThrown':
                self.console.append(
                    p['exceptionDetails']
                    .get('exception', {})
                    .get('description', p['exceptionDetails'].get('text', ''))
                )
            elif e.get('method') == 'Runtime.consoleAPICalled' and p.get('type') == 'error':
                self.console.append(
                    ' '.join(
                        str(a.get('value', a.get('description', ''))) for a in p.get('args', [])
                    )
                )
        self.cr.events.clear()

    def wait(self, expr: str, what: str, timeout: float, diagnose: str | None = None):
        "Poll `expr` until it is truthy; on time-out fail with `what` (and the value of `diagnose`)."
        t0 = time.time()
        while True:
            v = self.js(expr)
            if v:
                return v
            if time.time() - t0 > timeout:
                raise CheckFailed(
                    f'{what} (waited {timeout:.0f} s)'
                    + (f'; {self.js(diagnose)}' if diagnose else '')
                )
            time.sleep(0.25)


# What the widget shows, read from the DOM of the notebook's output area (ipywidgets 8 class names).
WIDGET = """(() => {
  const box = document.querySelector('.jp-Notebook .jp-OutputArea-output .widget-vbox');
  if (!box) return null;
  const all = s => [...box.querySelectorAll(s)];
  const isError = e => getComputedStyle(e).color === 'rgb(176, 0, 32)';
  const imgs = [...box.children].filter(e => e.tagName === 'IMG').map(i => {
    const r = i.getBoundingClientRect();
    return {src: i.src, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, h: i.naturalHeight, cw: r.width, ch: r.height};
  });
  return {
    dropdowns: all('.widget-dropdown').map(d => ({label: (d.querySelector('label') || {}).textContent, value: d.querySelector('select').value,
      options: [...d.querySelectorAll('option')].map(o => o.value), disabled: d.querySelector('select').disabled})),
    buttons: all('button.widget-button').map(b => b.textContent.trim()),
    toggles: all('.widget-toggle-buttons button').map(b => b.textContent.trim()),
    uploads: all('.widget-upload').map(b => b.textContent.trim()),
    sliders: all('.widget-hslider').map(s => (s.querySelector('label') || {}).textContent),
    images: imgs,
    errors: all('.widget-html span').filter(isError).map(e => e.textContent),
    links: all('a[download]').map(a => ({name: a.getAttribute('download'), href: a.getAttribute('href').slice(0, 30), bytes: a.getAttribute('href').length})),
  };
})()"""

# For failure messages: the widget as read above, and the text of every output area.
OUTPUTS = f"""JSON.stringify({{widget: {WIDGET}, outputs: [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output')].map(o => o.innerText.slice(0, 400))}})"""

ANSI = re.compile(r'\x1b\[[0-9;]*m')


def check_outputs(cells: list, widget_cells: list) -> list:
    "Problems in the notebook's outputs: cells not run, error outputs, the explorers not displayed as widgets."
    bad = []
    for i, c in enumerate(cells):
        if c['type'] == 'code' and c['count'] is None:
            bad.append(f'cell {i} was not run')
        for o in c['outputs']:
            if o.get('output_type') == 'error':
                tb = ANSI.sub('', '\n'.join(o.get('traceback', [])))
                bad.append(f"cell {i} raised {o.get('ename')}: {o.get('evalue')}\n{tb[-3000:]}")
    for i in widget_cells:
        if not any(
            'application/vnd.jupyter.widget-view+json' in o.get('data', {})
            for o in cells[i]['outputs']
        ):
            bad.append(f'cell {i} did not display a widget')
    return bad


def image_problems(w: dict) -> list:
    "Figures not drawn, or shown stretched: aspect ratio off by more than 2 %, or wider / taller than their PNG."
    bad = []
    for name, im in zip(('modalities', 'step', 'uncertainty'), w['images']):
        if not im['ok']:
            bad.append(f'the {name} figure is not shown')
            continue
        if (
            abs(im['cw'] / im['ch'] - im['w'] / im['h']) > 0.02 * im['w'] / im['h']
            or im['cw'] > im['w'] + 1
            or im['ch'] > im['h'] + 1
        ):
            bad.append(
                f"the {name} figure is stretched: its PNG is {im['w']}x{im['h']}, shown as {im['cw']:.0f}x{im['ch']:.0f}"
            )
    return bad


def run_checks(page: Page, base: str, token: str, nb_name: str, a, note) -> None:
    cr, nb = page.cr, page.nb
    nav = cr.call('Page.navigate', url=f'{base}lab/tree/{nb_name}?token={token}')
    if nav.get('errorText'):
        raise CheckFailed(f'JupyterLab does not load: {nav["errorText"]}')
    page.wait(
        f"(() => {{ if (!window.jupyterapp) return false; const w = {nb};"
        " return !!(w && w.context.isReady && w.sessionContext.session && w.sessionContext.session.kernel"
        " && w.sessionContext.session.kernel.status === 'idle'); })()",
        'JupyterLab did not open the notebook with an idle kernel',
        a.timeout,
        "(() => { if (!window.jupyterapp) return 'no window.jupyterapp: JupyterLab did not start';"
        f" const w = {nb}; if (!w) return 'the notebook is not open';"
        " const k = w.sessionContext.session && w.sessionContext.session.kernel; return 'kernel: ' + (k ? k.status : 'none'); })()",
    )
    plugins = page.js("jupyterapp.listPlugins().filter(p => p.startsWith('@jupyter-widgets/'))")
    if not any(page.js(f"jupyterapp.isPluginActivated({json.dumps(p)})") for p in plugins):
        raise CheckFailed(
            f'the ipywidgets JupyterLab extension is not active (plugins: {plugins or "none"})'
        )
    note(
        f"JupyterLab {page.js('jupyterapp.version')} opened the notebook, kernel idle; ipywidgets extension active ({', '.join(plugins)})"
    )
    page.js(
        "jupyterapp.shell.collapseLeft(); jupyterapp.shell.collapseRight();"
        f" jupyterapp.shell.activateById({nb}.id); window.__runAll = null;"
        " jupyterapp.commands.execute('notebook:run-all-cells').then(r => window.__runAll = {ok: r}, e => window.__runAll = {error: String(e)}); true"
    )
    page.wait('window.__runAll', "'Run All Cells' did not finish", a.timeout)
    page.wait(
        f"{nb}.sessionContext.session.kernel.status === 'idle'",
        'the kernel stayed busy after Run All Cells',
        a.timeout,
    )
    cells = page.js(
        f"{nb}.content.widgets.map(c => ({{type: c.model.type, count: c.model.executionCount ?? null,"
        " outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}))"
    )
    bad = check_outputs(cells, a.widget_cells)
    if bad:
        raise CheckFailed('\n'.join(bad))
    printed = ''.join(
        o.get('text', '') for c in cells for o in c['outputs'] if o.get('output_type') == 'stream'
    ).strip()
    note(
        f"Run All Cells ran {len(cells)} cells without an error output; they printed: {printed[-600:]}"
    )

    w = page.wait(
        f"(() => {{ const w = {WIDGET}; return w && w.images.length === 3 && w.dropdowns.length >= 2 ? w : null; }})()",
        'the explorer widget was not rendered',
        60,
        OUTPUTS,
    )
    dd = {d['label']: d for d in w['dropdowns']}
    want = dict(
        dropdowns={'sample', 'sampler'} - set(dd),
        buttons={'Sample', 'Predict from uploads'} - set(w['buttons']),
        toggles={'uni', 'multi', 'damm'} - set(w['toggles']),
        sliders={'steps', 'samples K', 'step'} - set(w['sliders']),
    )
    missing = [f'{k}: {sorted(v)}' for k, v in want.items() if v] + (
        ['the two file uploads'] if len(w['uploads']) != 2 else []
    )
    if missing:
        raise CheckFailed(f"widget rendered without {'; '.join(missing)}")
    if w['errors']:
        raise CheckFailed(f"the widget shows an error: {' | '.join(w['errors'])}")
    samples = dd['sample']['options']
    if len(samples) < 2 or dd['sample']['disabled']:
        raise CheckFailed(
            f"the sample dropdown offers {len(samples)} sample(s); need 2 to test a change"
        )
    w = page.wait(
        f"(() => {{ const w = {WIDGET}; return w && w.images[0].ok ? w : null; }})()",
        "the first sample's modalities figure is not shown",
        60,
        OUTPUTS,
    )
    note(
        f"widget rendered by the ipywidgets extension: dropdowns {sorted(dd)}, buttons {w['buttons']}, toggles {w['toggles']}, "
        f"sliders {w['sliders']}, {len(w['uploads'])} uploads, {len(w['images'])} image views; {len(samples)} samples, first {samples[0]}"
    )

    choice, before = samples[-1], w['images'][0]['src']
    page.js(
        "(() => { const d = [...document.querySelectorAll('.jp-Notebook .widget-dropdown')].find(d => (d.querySelector('label') || {}).textContent === 'sample');"
        " const s = d.querySelector('select'); s.selectedIndex = s.options.length - 1; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()"
    )
    w = page.wait(
        f"(() => {{ const w = {WIDGET}; return w && w.images[0].src !== {json.dumps(before)} && w.images[0].ok ? w : null; }})()",
        f'choosing sample {choice} did not redraw its modalities',
        60,
        OUTPUTS,
    )
    if w['errors']:
        raise CheckFailed(
            f"after choosing sample {choice} the widget shows an error: {' | '.join(w['errors'])}"
        )
    note(f'choosing sample {choice} in the dropdown redrew the modalities figure')

    t = time.time()
    page.js(
        "[...document.querySelectorAll('.jp-Notebook button.widget-button')].find(b => b.textContent.trim() === 'Sample').click(); true"
    )
    w = page.wait(
        f"(() => {{ const w = {WIDGET}; return w && ((w.links.length >= 5 && w.images.every(i => i.ok)) || w.errors.length) ? w : null; }})()",
        "clicking 'Sample' did not draw the step and uncertainty figures and the download links",
        a.timeout,
        OUTPUTS,
    )
    if w['errors']:
        raise CheckFailed(f"clicking 'Sample' shows an error: {' | '.join(w['errors'])}")
    stem = Path(choice).stem + '_pred'
    names = [l['name'] for l in w['links']]
    bad = [
        f'download link {l["name"]} does not start with the chosen sample\'s name {stem}'
        for l in w['links']
        if not l['name'].startswith(stem)
    ]
    bad += [
        f"download link {l['name']} carries no data: URI"
        for l in w['links']
        if not l['href'].startswith('data:') or l['bytes'] < 100
    ]
    bad += image_problems(w)
    if bad:
        raise CheckFailed('\n'.join(bad))
    note(
        f"'Sample' drew the step and uncertainty figures and {len(names)} download links ({', '.join(names)}) in {time.time() - t:.1f} s"
    )
    note(
        'figures shown at their own size: '
        + ', '.join(
            f"{n} {i['w']}x{i['h']} shown {i['cw']:.0f}x{i['ch']:.0f}"
            for n, i in zip(('modalities', 'step', 'uncertainty'), w['images'])
        )
    )

    if a.screenshot:
        page.js(
            "document.querySelector('.jp-Notebook .jp-Cell').scrollIntoView({block: 'start'}); true"
        )
        time.sleep(0.5)
        r = page.js(
            "(() => { const n = document.querySelector('.jp-NotebookPanel').getBoundingClientRect();"  # the notebook, down to the explorer's cell
            " const end = Math.max(...[...document.querySelectorAll('.jp-Notebook .jp-Cell')].slice(0, 2).map(c => c.getBoundingClientRect().bottom));"
            " return {x: n.left, y: n.top, width: n.width, height: Math.min(n.bottom, end + 12) - n.top}; })()"
        )
        shot = cr.call('Page.captureScreenshot', format='png', clip=dict(r, scale=a.scale))
        out = Path(a.screenshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_name(out.name + '.tmp')
        tmp_out.write_bytes(base64.b64decode(shot['data']))
        tmp_out.replace(out)
        note(f'screenshot of the notebook: {out} ({out.stat().st_size // 1024} KiB)')
    if a.progression:
        check_progression(page, a, note)


# The progression explorer's widget: the VBox in the output holding the 'DICOM series' upload.
PWIDGET = """(() => {
  const up = [...document.querySelectorAll('.jp-Notebook .widget-upload')].find(b => b.textContent.trim().startsWith('DICOM series'));
  const out = up && up.closest('.jp-OutputArea-output'), box = out && out.querySelector('.widget-vbox');
  if (!box) return null;
  const all = s => [...box.querySelectorAll(s)];
  return {
    upload: up.textContent.trim(),
    buttons: all('button.widget-button').map(b => b.textContent.trim()),
    sliders: all('.widget-hslider').map(s => (s.querySelector('label') || {}).textContent),
    images: all('img').map(i => ({ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, h: i.naturalHeight})),
    errors: all('.widget-html span').filter(e => getComputedStyle(e).color === 'rgb(176, 0, 32)').map(e => e.textContent),
    links: all('a[download]').map(a => ({name: a.getAttribute('download'), ok: a.getAttribute('href').startsWith('data:') && a.getAttribute('href').length > 100})),
    text: out.innerText,
  };
})()"""
POUTPUTS = f"JSON.stringify({PWIDGET})"
TRACEBACK = re.compile(r'Traceback \(most recent call last\)|^\w+(Error|Exception): ', re.M)


def upload(page: Page, files: list, what: str, timeout: float) -> dict:
    "Click the widget's 'DICOM series' button as a reader does, catch the file chooser it opens and give it `files`; wait until the widget counts them."
    cr, t0 = page.cr, time.time()
    page.drain()
    cr.call('Page.setInterceptFileChooserDialog', enabled=True)
    try:
        r = cr.call(
            'Runtime.evaluate',
            userGesture=True,
            returnByValue=True,
            # a click with a user gesture, so Chromium opens the chooser
            expression="(() => { const b = [...document.querySelectorAll('.jp-Notebook .widget-upload')].find(b => b.textContent.trim().startsWith('DICOM series'));"
            " if (!b) return false; b.scrollIntoView({block: 'center'}); b.click(); return true; })()",
        )
        if not r.get('result', {}).get('value'):
            raise CheckFailed(
                f"{what}: the widget's 'DICOM series' upload button is not on the page"
            )
        while not (
            ev := next((e for e in cr.events if e.get('method') == 'Page.fileChooserOpened'), None)
        ):
            if time.time() - t0 > 30:
                raise CheckFailed(
                    f"{what}: clicking the 'DICOM series' button did not open a file chooser (waited 30 s)"
                )
            time.sleep(0.1)
            cr.call('Runtime.evaluate', expression='0')  # lets the events that arrived meanwhile in
        p = ev['params']
        if p.get('mode') != 'selectMultiple':
            raise CheckFailed(
                f"{what}: the file chooser takes one file only (mode {p.get('mode')}); the upload must take a whole series"
            )
        try:
            cr.call(
                'DOM.setFileInputFiles',
                files=[str(f) for f in files],
                backendNodeId=p['backendNodeId'],
            )
        except RuntimeError as e:
            raise CheckFailed(f'{what}: DOM.setFileInputFiles failed: {e}') from None
    finally:
        cr.call('Page.setInterceptFileChooserDialog', enabled=False)
        page.drain()
    return page.wait(
        f"(() => {{ const w = {PWIDGET}; return w && w.upload.endsWith('({len(files)})') ? w : null; }})()",
        f"{what}: the upload button does not count the {len(files)} file(s) given to its file chooser",
        timeout,
        POUTPUTS,
    )


def click_predict(page: Page, a, done: str, what: str) -> tuple[dict, list]:
    "Click 'Predict'; wait until `done` (a JS condition on the widget `w`) or an error shows, and the kernel is idle. Returns the widget and the cell's outputs."
    page.js(
        "[...document.querySelectorAll('.jp-Notebook button.widget-button')].find(b => b.textContent.trim() === 'Predict').click(); true"
    )
    w = page.wait(
        f"(() => {{ const w = {PWIDGET}; return w && (({done}) || w.errors.length) ? w : null; }})()",
        what,
        a.timeout,
        POUTPUTS,
    )
    page.wait(
        f"{page.nb}.sessionContext.session.kernel.status === 'idle'",
        f'{what}: the kernel stayed busy',
        a.timeout,
    )
    w = page.js(PWIDGET)
    outs = page.js(f"{page.nb}.content.widgets[{a.widget_cells[-1]}].model.outputs.toJSON()")
    return w, outs


def tracebacks(w: dict, outs: list) -> list:
    "Tracebacks or error outputs in the widget's text or in its cell's outputs."
    bad = [
        f"the cell shows {o.get('ename')}: {o.get('evalue')}"
        for o in outs
        if o.get('output_type') == 'error'
    ]
    texts = [w['text']] + [o.get('text', '') for o in outs if o.get('output_type') == 'stream']
    bad += [
        f'a traceback is shown: {m.string[max(0, m.start() - 100) : m.start() + 300]!r}'
        for t in texts
        if (m := TRACEBACK.search(t))
    ]
    return bad


def check_progression(page: Page, a, note):
    "The progression explorer: its widget, a real DICOM upload, a forecast, and a bad upload's message."
    page.js(
        "[...document.querySelectorAll('.jp-Notebook .jp-Cell')].at(-1).scrollIntoView({block: 'start'}); true"
    )
    w = page.wait(
        f"(() => {{ const w = {PWIDGET}; return w && w.buttons.includes('Predict') ? w : null; }})()",
        'the progression explorer widget was not rendered',
        60,
        OUTPUTS,
    )
    missing = [
        m
        for m, ok in (
            ("the 'DICOM series' file upload", w['upload'].startswith('DICOM series')),
            ("the 'days' slider", 'days' in w['sliders']),
            ("the 'Predict' button", 'Predict' in w['buttons']),
        )
        if not ok
    ]
    if missing:
        raise CheckFailed(f"progression widget rendered without {', '.join(missing)}: {w}")
    if w['errors']:
        raise CheckFailed(
            f"the progression widget shows an error before any upload: {' | '.join(w['errors'])}"
        )
    note(
        f"progression widget rendered: upload {w['upload']!r}, sliders {w['sliders']}, buttons {w['buttons']}"
    )

    t = time.time()
    w = upload(page, a.series_files, 'uploading the DICOM series', a.timeout)
    note(
        f"uploaded {len(a.series_files)} files of {a.series} through the page's file chooser (DOM.setFileInputFiles); the widget shows {w['upload']!r} ({time.time() - t:.1f} s)"
    )
    t = time.time()
    w, outs = click_predict(
        page,
        a,
        'w.links.length >= 7 && w.images.some(i => i.ok)',
        "clicking 'Predict' did not draw the forecast figure and its 7 download links",
    )
    if w['errors']:
        raise CheckFailed(
            f"clicking 'Predict' on {a.series} shows an error: {' | '.join(w['errors'])}"
        )
    bad = tracebacks(w, outs) + [
        f"download link {l['name']} carries no data: URI" for l in w['links'] if not l['ok']
    ]
    if len(w['links']) != 7:
        bad.append(f"{len(w['links'])} download links, not 7: {[l['name'] for l in w['links']]}")
    if bad:
        raise CheckFailed("after 'Predict': " + '\n'.join(bad))
    img = next(i for i in w['images'] if i['ok'])
    note(
        f"'Predict' drew the forecast figure ({img['w']}x{img['h']}) and {len(w['links'])} download links ({', '.join(l['name'] for l in w['links'])}) "
        f"in {time.time() - t:.1f} s; no error message, no traceback"
    )

    if a.progression_screenshot:
        r = page.js(
            "(() => { const up = [...document.querySelectorAll('.jp-Notebook .widget-upload')].find(b => b.textContent.trim().startsWith('DICOM series'));"
            " const c = up.closest('.jp-Cell'); c.scrollIntoView({block: 'start'}); const r = c.getBoundingClientRect();"
            " return {x: r.left, y: r.top, width: r.width, height: Math.min(r.height + 12, window.innerHeight - r.top)}; })()"
        )
        time.sleep(0.5)
        shot = page.cr.call('Page.captureScreenshot', format='png', clip=dict(r, scale=a.scale))
        out = Path(a.progression_screenshot)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_name(out.name + '.tmp')
        tmp_out.write_bytes(base64.b64decode(shot['data']))
        tmp_out.replace(out)
        note(f'screenshot of the progression explorer: {out} ({out.stat().st_size // 1024} KiB)')

    bad_dir = Path(tempfile.mkdtemp(prefix='check_lab_bad_'))
    try:
        bad_file = bad_dir / 'random_bytes.dcm'
        bad_file.write_bytes(os.urandom(4096))
        t = time.time()
        upload(page, [bad_file], 'uploading a file of random bytes', a.timeout)
        w, outs = click_predict(
            page,
            a,
            'false',
            f"'Predict' on a file of random bytes did not show a message naming {bad_file.name}",
        )
    finally:
        shutil.rmtree(bad_dir, ignore_errors=True)
    bad = tracebacks(w, outs)
    if not any(bad_file.name in e for e in w['errors']):
        bad.append(f"the message does not name {bad_file.name}: {w['errors']}")
    if w['links'] or any(i['ok'] for i in w['images']):
        bad.append(
            f"the previous forecast is still shown ({len(w['links'])} links) beside the error"
        )
    if bad:
        raise CheckFailed("after 'Predict' on a file of random bytes: " + '\n'.join(bad))
    note(
        f"a file of random bytes gives the message {' | '.join(w['errors'])!r}, no traceback, no forecast ({time.time() - t:.1f} s)"
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        '--checkpoint',
        required=True,
        help='a pipeline checkpoint, e.g. report/np_benchmark/np_div0.3_damm.pt of `damm_demo`',
    )
    p.add_argument(
        '--root',
        help="JupyterLab's root folder, where the notebook is written and the kernel runs (default: a fresh temporary folder)",
    )
    p.add_argument(
        '--screenshot',
        default=str(REPO / 'nbs' / 'images' / 'lab_explorer.png'),
        help="PNG of the notebook after 'Sample' ('' for none)",
    )
    p.add_argument('--split', default='test')
    p.add_argument('--steps', type=int, default=4)
    p.add_argument('--K', type=int, default=2)
    p.add_argument('--chromium', default=os.environ.get('CHROMIUM', 'chromium'))
    p.add_argument('--width', type=int, default=1100)
    p.add_argument('--height', type=int, default=1500)
    p.add_argument('--scale', type=float, default=0.75, help='screenshot scale')
    p.add_argument(
        '--timeout',
        type=float,
        default=300,
        help='seconds to wait for each of: Lab and kernel, Run All, Sample, Predict',
    )
    p.add_argument(
        '--progression',
        help='also check ProgressionExplorer on this checkpoint, e.g. report/progression/progression_model.pt of `damm_demo`',
    )
    p.add_argument(
        '--dicom',
        help='the series folder to upload to it (default: the first post-contrast series under <root>/data/phantom_mri)',
    )
    p.add_argument(
        '--progression-screenshot',
        default=str(REPO / 'nbs' / 'images' / 'lab_progression.png'),
        help="PNG of the progression explorer after 'Predict' ('' for none)",
    )
    a = p.parse_args(argv)
    t0, ckpt = time.time(), Path(a.checkpoint).absolute()
    if not ckpt.is_file():
        sys.exit(
            f'check_lab: {ckpt}: no such checkpoint; `make demo` writes report/np_benchmark/np_div0.3_damm.pt'
        )
    if a.progression:
        a.progression = Path(a.progression).absolute()
        if not a.progression.is_file():
            sys.exit(
                f'check_lab: {a.progression}: no such checkpoint; `make demo` writes report/progression/progression_model.pt'
            )
        try:
            a.series, a.series_files = find_series(
                a.dicom, [a.root, a.progression.parents[2], Path.cwd()]
            )
        except CheckFailed as e:
            sys.exit(f'check_lab: {e}')
    elif a.dicom:
        sys.exit('check_lab: --dicom needs --progression')
    exe = shutil.which(a.chromium)
    if exe is None:
        sys.exit(
            f'check_lab: {a.chromium!r} not found; install it with: apt-get install -y chromium'
        )
    tmp = Path(tempfile.mkdtemp(prefix='check_lab_'))
    root = Path(a.root).absolute() if a.root else tmp / 'root'
    if a.root and not root.is_dir():
        sys.exit(f'check_lab: --root {root} is not a folder')
    root.mkdir(exist_ok=True)
    nb_name = f'_check_lab_{secrets.token_hex(4)}.ipynb'
    a.widget_cells = write_notebook(
        root / nb_name, ckpt, a.split or None, a.steps, a.K, a.progression
    )

    def note(s):
        print(f'ok  {time.time() - t0:6.1f} s  {s}', flush=True)

    page, failed = None, None
    try:
        with lab_server(root, tmp, a.timeout) as (base, token):
            note(
                f'jupyter lab serves {root} at {base} (notebook {nb_name}, checkpoint {ckpt}'
                + (
                    f', progression checkpoint {a.progression}, series {a.series}, {len(a.series_files)} files'
                    if a.progression
                    else ''
                )
                + ')'
            )
            cr = Chromium(exe, a.width, a.height, timeout=60)
            try:
                page = Page(cr, nb_name)
                run_checks(page, base, token, nb_name, a, note)
            finally:
                page and page.drain()
                cr.close()
    except (CheckFailed, TimeoutError) as e:
        failed = str(e)
    finally:
        (root / nb_name).unlink(missing_ok=True)
        log = tail(tmp / 'lab.log', 30)
        shutil.rmtree(tmp, ignore_errors=True)
    if page and page.console:
        print(
            f'browser console: {len(page.console)} error(s), e.g.:',
            *[f'  {c[:300]}' for c in page.console[:5]],
            sep='\n',
        )
    if failed:
        print(f'LAB CHECK FAILED: {failed}', f'jupyter lab log ends:\n{log}', sep='\n')
        print(f'lab: FAILED after {time.time() - t0:.1f} s')
        return 1
    print(
        f"lab: the explorer{' and the progression explorer work' if a.progression else ' works'} in JupyterLab; {time.time() - t0:.1f} s in all"
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
