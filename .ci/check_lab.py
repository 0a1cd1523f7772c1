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

Usage: python .ci/check_lab.py --checkpoint PATH [--root DIR] [--screenshot nbs/images/lab_explorer.png] [--split test] [--steps 4] [--K 2]
"""
import argparse, base64, contextlib, json, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).absolute().parent))
from check_site import Chromium  # one headless Chromium over the DevTools protocol

REPO = Path(__file__).absolute().parents[1]

class CheckFailed(Exception): pass

def free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def tail(path:Path, n:int=40)->str:
    with contextlib.suppress(OSError): return '\n'.join(path.read_text(errors='replace').splitlines()[-n:])
    return ''

def write_notebook(path:Path, ckpt:Path, split:str|None, steps:int, K:int):
    "The notebook a reader would write: load the checkpoint, build the explorer, show it."
    cells = [f"import os, damm_nb\nfrom damm_nb.explorer import Explorer, load_model\npipe = load_model({str(ckpt)!r})\n"
             f"print(f'damm_nb {{damm_nb.__version__}} from {{os.path.dirname(damm_nb.__file__)}}; working directory {{os.getcwd()}}; data folder {{pipe.data_root}}')",
             f"ex = Explorer(pipe, split={split!r}, steps={steps}, K={K})\nex"]
    nb = dict(nbformat=4, nbformat_minor=5, cells=[dict(cell_type='code', id=f'cell{i}', metadata={}, source=s, outputs=[], execution_count=None)
                                                   for i, s in enumerate(cells)],
              metadata=dict(kernelspec=dict(name='python3', display_name='Python 3 (ipykernel)', language='python')))
    path.write_text(json.dumps(nb, indent=1))

@contextlib.contextmanager
def lab_server(root:Path, tmp:Path, timeout:float):
    "A JupyterLab server on 127.0.0.1 with its own config, settings and runtime folders; yields (base URL, token)."
    port, token = free_port(), secrets.token_hex(16)
    notes = tmp/'settings'/'@jupyterlab'/'apputils-extension'; notes.mkdir(parents=True)  # no news or update toasts in the screenshot
    (notes/'notification.jupyterlab-settings').write_text(json.dumps(dict(fetchNews='false', checkForUpdates=False, doNotDisturbMode=True)))
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get('PATH', '')]),  # the kernel's `python` is this one
               PYTHONPATH=os.pathsep.join([str(REPO)] + [p for p in os.environ.get('PYTHONPATH', '').split(os.pathsep) if p]),  # this checkout's damm_nb
               JUPYTER_CONFIG_DIR=str(tmp/'config'), JUPYTER_DATA_DIR=str(tmp/'data'), JUPYTER_RUNTIME_DIR=str(tmp/'runtime'), IPYTHONDIR=str(tmp/'ipython'))
    cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--allow-root', '--ip=127.0.0.1', f'--port={port}', '--ServerApp.port_retries=0',
           f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={root}', '--ServerApp.terminals_enabled=False',
           f'--FileCheckpoints.checkpoint_dir={tmp/"checkpoints"}',  # Lab's file checkpoints stay out of the root
           f'--LabApp.user_settings_dir={tmp/"settings"}', f'--LabApp.workspaces_dir={tmp/"workspaces"}', '--LabApp.expose_app_in_browser=True',
           '--LabApp.news_url=None', '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
    log = open(tmp/'lab.log', 'wb')
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    base, auth = f'http://127.0.0.1:{port}/', {'Authorization': f'token {token}'}
    try:
        t0 = time.time()
        while True:
            if proc.poll() is not None: raise CheckFailed(f'jupyter lab exited with {proc.returncode}; its log ends:\n{tail(tmp/"lab.log")}')
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(urllib.request.Request(base + 'api/status', headers=auth), timeout=5) as r:
                    if r.status == 200: break
            if time.time() - t0 > timeout: raise CheckFailed(f'jupyter lab did not answer within {timeout:.0f} s; its log ends:\n{tail(tmp/"lab.log")}')
            time.sleep(.3)
        yield base, token
    finally:  # the server shuts its kernels down; the process group is ours, so whatever is left of it is ended too
        with contextlib.suppress(OSError):
            urllib.request.urlopen(urllib.request.Request(base + 'api/shutdown', method='POST', headers=auth), timeout=10)
        try: proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError): os.killpg(proc.pid, signal.SIGTERM)
            try: proc.wait(10)
            except subprocess.TimeoutExpired: os.killpg(proc.pid, signal.SIGKILL); proc.wait()
        log.close()

class Page:
    "The Lab page in Chromium: evaluate scripts, wait for conditions, keep the page's console errors."
    def __init__(self, cr:Chromium, nb_name:str):
        self.cr, self.console = cr, []
        self.nb = f"[...jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === {json.dumps(nb_name)})"

    def js(self, expr:str, await_promise:bool=False):
        r = self.cr.call('Runtime.evaluate', expression=expr, awaitPromise=await_promise, returnByValue=True)
        self.drain()
        if 'exceptionDetails' in r:
            d = r['exceptionDetails']; raise CheckFailed(f"script in the page failed: {d.get('exception', {}).get('description', d.get('text'))}\n{expr[:300]}")
        return r['result'].get('value')

    def drain(self):
        for e in self.cr.events:
            p = e.get('params', {})
            if e.get('method') == 'Runtime.exceptionThrown': self.console.append(p['exceptionDetails'].get('exception', {}).get('description', p['exceptionDetails'].get('text', '')))
            elif e.get('method') == 'Runtime.consoleAPICalled' and p.get('type') == 'error':
                self.console.append(' '.join(str(a.get('value', a.get('description', ''))) for a in p.get('args', [])))
        self.cr.events.clear()

    def wait(self, expr:str, what:str, timeout:float, diagnose:str|None=None):
        "Poll `expr` until it is truthy; on time-out fail with `what` (and the value of `diagnose`)."
        t0 = time.time()
        while True:
            v = self.js(expr)
            if v: return v
            if time.time() - t0 > timeout:
                raise CheckFailed(f'{what} (waited {timeout:.0f} s)' + (f'; {self.js(diagnose)}' if diagnose else ''))
            time.sleep(.25)

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

def check_outputs(cells:list)->list:
    "Problems in the notebook's outputs: cells not run, error outputs, the explorer not displayed as a widget."
    bad = []
    for i, c in enumerate(cells):
        if c['type'] == 'code' and c['count'] is None: bad.append(f'cell {i} was not run')
        for o in c['outputs']:
            if o.get('output_type') == 'error':
                tb = ANSI.sub('', '\n'.join(o.get('traceback', [])))
                bad.append(f"cell {i} raised {o.get('ename')}: {o.get('evalue')}\n{tb[-3000:]}")
    if not any('application/vnd.jupyter.widget-view+json' in o.get('data', {}) for o in cells[-1]['outputs']):
        bad.append('the last cell did not display a widget')
    return bad

def image_problems(w:dict)->list:
    "Figures not drawn, or shown stretched: aspect ratio off by more than 2 %, or wider / taller than their PNG."
    bad = []
    for name, im in zip(('modalities', 'step', 'uncertainty'), w['images']):
        if not im['ok']: bad.append(f'the {name} figure is not shown'); continue
        if abs(im['cw'] / im['ch'] - im['w'] / im['h']) > .02 * im['w'] / im['h'] or im['cw'] > im['w'] + 1 or im['ch'] > im['h'] + 1:
            bad.append(f"the {name} figure is stretched: its PNG is {im['w']}x{im['h']}, shown as {im['cw']:.0f}x{im['ch']:.0f}")
    return bad

def run_checks(page:Page, base:str, token:str, nb_name:str, a, note)->None:
    cr, nb = page.cr, page.nb
    nav = cr.call('Page.navigate', url=f'{base}lab/tree/{nb_name}?token={token}')
    if nav.get('errorText'): raise CheckFailed(f'JupyterLab does not load: {nav["errorText"]}')
    page.wait(f"(() => {{ if (!window.jupyterapp) return false; const w = {nb};"
              " return !!(w && w.context.isReady && w.sessionContext.session && w.sessionContext.session.kernel"
              " && w.sessionContext.session.kernel.status === 'idle'); })()",
              'JupyterLab did not open the notebook with an idle kernel', a.timeout,
              "(() => { if (!window.jupyterapp) return 'no window.jupyterapp: JupyterLab did not start';"
              f" const w = {nb}; if (!w) return 'the notebook is not open';"
              " const k = w.sessionContext.session && w.sessionContext.session.kernel; return 'kernel: ' + (k ? k.status : 'none'); })()")
    plugins = page.js("jupyterapp.listPlugins().filter(p => p.startsWith('@jupyter-widgets/'))")
    if not any(page.js(f"jupyterapp.isPluginActivated({json.dumps(p)})") for p in plugins):
        raise CheckFailed(f'the ipywidgets JupyterLab extension is not active (plugins: {plugins or "none"})')
    note(f"JupyterLab {page.js('jupyterapp.version')} opened the notebook, kernel idle; ipywidgets extension active ({', '.join(plugins)})")
    page.js("jupyterapp.shell.collapseLeft(); jupyterapp.shell.collapseRight();"
            f" jupyterapp.shell.activateById({nb}.id); window.__runAll = null;"
            " jupyterapp.commands.execute('notebook:run-all-cells').then(r => window.__runAll = {ok: r}, e => window.__runAll = {error: String(e)}); true")
    page.wait('window.__runAll', "'Run All Cells' did not finish", a.timeout)
    page.wait(f"{nb}.sessionContext.session.kernel.status === 'idle'", 'the kernel stayed busy after Run All Cells', a.timeout)
    cells = page.js(f"{nb}.content.widgets.map(c => ({{type: c.model.type, count: c.model.executionCount ?? null,"
                    " outputs: c.model.type === 'code' ? c.model.outputs.toJSON() : []}))")
    bad = check_outputs(cells)
    if bad: raise CheckFailed('\n'.join(bad))
    printed = ''.join(o.get('text', '') for c in cells for o in c['outputs'] if o.get('output_type') == 'stream').strip()
    note(f"Run All Cells ran {len(cells)} cells without an error output; they printed: {printed[-600:]}")

    w = page.wait(f"(() => {{ const w = {WIDGET}; return w && w.images.length === 3 && w.dropdowns.length >= 2 ? w : null; }})()",
                  'the explorer widget was not rendered', 60, OUTPUTS)
    dd = {d['label']: d for d in w['dropdowns']}
    want = dict(dropdowns={'sample', 'sampler'} - set(dd), buttons={'Sample', 'Predict from uploads'} - set(w['buttons']),
                toggles={'uni', 'multi', 'damm'} - set(w['toggles']), sliders={'steps', 'samples K', 'step'} - set(w['sliders']))
    missing = [f'{k}: {sorted(v)}' for k, v in want.items() if v] + (['the two file uploads'] if len(w['uploads']) != 2 else [])
    if missing: raise CheckFailed(f"widget rendered without {'; '.join(missing)}")
    if w['errors']: raise CheckFailed(f"the widget shows an error: {' | '.join(w['errors'])}")
    samples = dd['sample']['options']
    if len(samples) < 2 or dd['sample']['disabled']: raise CheckFailed(f"the sample dropdown offers {len(samples)} sample(s); need 2 to test a change")
    w = page.wait(f"(() => {{ const w = {WIDGET}; return w && w.images[0].ok ? w : null; }})()", "the first sample's modalities figure is not shown", 60, OUTPUTS)
    note(f"widget rendered by the ipywidgets extension: dropdowns {sorted(dd)}, buttons {w['buttons']}, toggles {w['toggles']}, "
         f"sliders {w['sliders']}, {len(w['uploads'])} uploads, {len(w['images'])} image views; {len(samples)} samples, first {samples[0]}")

    choice, before = samples[-1], w['images'][0]['src']
    page.js("(() => { const d = [...document.querySelectorAll('.jp-Notebook .widget-dropdown')].find(d => (d.querySelector('label') || {}).textContent === 'sample');"
            " const s = d.querySelector('select'); s.selectedIndex = s.options.length - 1; s.dispatchEvent(new Event('change', {bubbles: true})); return true; })()")
    w = page.wait(f"(() => {{ const w = {WIDGET}; return w && w.images[0].src !== {json.dumps(before)} && w.images[0].ok ? w : null; }})()",
                  f'choosing sample {choice} did not redraw its modalities', 60, OUTPUTS)
    if w['errors']: raise CheckFailed(f"after choosing sample {choice} the widget shows an error: {' | '.join(w['errors'])}")
    note(f'choosing sample {choice} in the dropdown redrew the modalities figure')

    t = time.time()
    page.js("[...document.querySelectorAll('.jp-Notebook button.widget-button')].find(b => b.textContent.trim() === 'Sample').click(); true")
    w = page.wait(f"(() => {{ const w = {WIDGET}; return w && ((w.links.length >= 5 && w.images.every(i => i.ok)) || w.errors.length) ? w : null; }})()",
                  "clicking 'Sample' did not draw the step and uncertainty figures and the download links", a.timeout, OUTPUTS)
    if w['errors']: raise CheckFailed(f"clicking 'Sample' shows an error: {' | '.join(w['errors'])}")
    stem = Path(choice).stem + '_pred'
    names = [l['name'] for l in w['links']]
    bad = [f'download link {l["name"]} does not start with the chosen sample\'s name {stem}' for l in w['links'] if not l['name'].startswith(stem)]
    bad += [f"download link {l['name']} carries no data: URI" for l in w['links'] if not l['href'].startswith('data:') or l['bytes'] < 100]
    bad += image_problems(w)
    if bad: raise CheckFailed('\n'.join(bad))
    note(f"'Sample' drew the step and uncertainty figures and {len(names)} download links ({', '.join(names)}) in {time.time() - t:.1f} s")
    note('figures shown at their own size: ' + ', '.join(f"{n} {i['w']}x{i['h']} shown {i['cw']:.0f}x{i['ch']:.0f}"
                                                          for n, i in zip(('modalities', 'step', 'uncertainty'), w['images'])))

    if a.screenshot:
        page.js("document.querySelector('.jp-Notebook .jp-Cell').scrollIntoView({block: 'start'}); true"); time.sleep(.5)
        r = page.js("(() => { const n = document.querySelector('.jp-NotebookPanel').getBoundingClientRect();"  # the notebook, down to its last cell
                    " const end = Math.max(...[...document.querySelectorAll('.jp-Notebook .jp-Cell')].map(c => c.getBoundingClientRect().bottom));"
                    " return {x: n.left, y: n.top, width: n.width, height: Math.min(n.bottom, end + 12) - n.top}; })()")
        shot = cr.call('Page.captureScreenshot', format='png', clip=dict(r, scale=a.scale))
        out = Path(a.screenshot); out.parent.mkdir(parents=True, exist_ok=True)
        tmp_out = out.with_name(out.name + '.tmp'); tmp_out.write_bytes(base64.b64decode(shot['data'])); tmp_out.replace(out)
        note(f'screenshot of the notebook: {out} ({out.stat().st_size // 1024} KiB)')

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--checkpoint', required=True, help='a pipeline checkpoint, e.g. report/np_benchmark/np_div0.3_damm.pt of `damm_demo`')
    p.add_argument('--root', help="JupyterLab's root folder, where the notebook is written and the kernel runs (default: a fresh temporary folder)")
    p.add_argument('--screenshot', default=str(REPO/'nbs'/'images'/'lab_explorer.png'), help="PNG of the notebook after 'Sample' ('' for none)")
    p.add_argument('--split', default='test'); p.add_argument('--steps', type=int, default=4); p.add_argument('--K', type=int, default=2)
    p.add_argument('--chromium', default=os.environ.get('CHROMIUM', 'chromium'))
    p.add_argument('--width', type=int, default=1100); p.add_argument('--height', type=int, default=1500)
    p.add_argument('--scale', type=float, default=.75, help='screenshot scale')
    p.add_argument('--timeout', type=float, default=300, help='seconds to wait for each of: Lab and kernel, Run All, Sample')
    a = p.parse_args(argv)
    t0, ckpt = time.time(), Path(a.checkpoint).absolute()
    if not ckpt.is_file(): sys.exit(f'check_lab: {ckpt}: no such checkpoint; `make demo` writes report/np_benchmark/np_div0.3_damm.pt')
    exe = shutil.which(a.chromium)
    if exe is None: sys.exit(f'check_lab: {a.chromium!r} not found; install it with: apt-get install -y chromium')
    tmp = Path(tempfile.mkdtemp(prefix='check_lab_'))
    root = Path(a.root).absolute() if a.root else tmp/'root'
    if a.root and not root.is_dir(): sys.exit(f'check_lab: --root {root} is not a folder')
    root.mkdir(exist_ok=True)
    nb_name = f'_check_lab_{secrets.token_hex(4)}.ipynb'
    write_notebook(root/nb_name, ckpt, a.split or None, a.steps, a.K)
    def note(s): print(f'ok  {time.time() - t0:6.1f} s  {s}', flush=True)
    page, failed = None, None
    try:
        with lab_server(root, tmp, a.timeout) as (base, token):
            note(f'jupyter lab serves {root} at {base} (notebook {nb_name}, checkpoint {ckpt})')
            cr = Chromium(exe, a.width, a.height, timeout=60)
            try:
                page = Page(cr, nb_name)
                run_checks(page, base, token, nb_name, a, note)
            finally:
                page and page.drain(); cr.close()
    except (CheckFailed, TimeoutError) as e: failed = str(e)
    finally:
        (root/nb_name).unlink(missing_ok=True)
        log = tail(tmp/'lab.log', 30)
        shutil.rmtree(tmp, ignore_errors=True)
    if page and page.console:
        print(f'browser console: {len(page.console)} error(s), e.g.:', *[f'  {c[:300]}' for c in page.console[:5]], sep='\n')
    if failed:
        print(f'LAB CHECK FAILED: {failed}', f'jupyter lab log ends:\n{log}', sep='\n')
        print(f'lab: FAILED after {time.time() - t0:.1f} s')
        return 1
    print(f'lab: the explorer works in JupyterLab; {time.time() - t0:.1f} s in all')
    return 0

if __name__ == '__main__': sys.exit(main())
