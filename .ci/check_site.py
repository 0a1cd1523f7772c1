"""Check the built documentation site in a real browser: headless Chromium opens every page, takes a screenshot, and checks its links and images.

Serves `_docs/` (built by `.ci/build_docs.py`) on 127.0.0.1 and drives one headless Chromium over the DevTools protocol
(needs Debian's `chromium` package: `apt-get install -y chromium`; the Python side needs only `websocket-client`).
Fails on: a notebook without its page, a page that does not load, an internal link that does not answer HTTP 200,
an <img> the browser could not decode (naturalWidth 0). Screenshots go to `_docs/screenshots/<page>.png`.

Usage: python .ci/check_site.py [--docs _docs] [--chromium chromium] [--width 1280] [--height 1000]
"""

import argparse, base64, contextlib, functools, http.server, json, os, re, shutil, subprocess, sys, tempfile, threading, time
import urllib.error, urllib.parse, urllib.request
from pathlib import Path
import websocket  # websocket-client

FLAGS = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--hide-scrollbars',
    '--mute-audio',
]


def expected_pages(nbs: Path) -> list:
    "Page names `.ci/build_docs.py` makes: index.html and one per numbered notebook (prefix dropped)."
    return ['index.html'] + [
        re.sub(r'^\d+[a-z]?_', '', p.stem) + '.html' for p in sorted(nbs.glob('[0-9]*.ipynb'))
    ]


@contextlib.contextmanager
def serve(folder: Path):
    "Serve `folder` on 127.0.0.1 (a free port) in a thread; yields the base URL."

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    class Server(http.server.ThreadingHTTPServer):
        def handle_error(
            self, request, client_address
        ):  # the browser closing a connection early is not a site problem
            if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
                super().handle_error(request, client_address)

    srv = Server(('127.0.0.1', 0), functools.partial(Quiet, directory=str(folder)))
    th = threading.Thread(target=srv.serve_forever, daemon=True)
    th.start()
    try:
        yield f'http://127.0.0.1:{srv.server_address[1]}/'
    finally:
        srv.shutdown()
        srv.server_close()


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return 0


class Chromium:
    "One headless Chromium with a fresh profile, driven over the DevTools protocol (one page target)."

    def __init__(self, exe: str, width: int, height: int, timeout: float = 60):
        self.profile, self.timeout, self.id = tempfile.mkdtemp(prefix='check_site_'), timeout, 0
        self.proc = subprocess.Popen(
            [
                exe,
                *FLAGS,
                f'--user-data-dir={self.profile}',
                '--remote-debugging-port=0',
                f'--window-size={width},{height}',
                'about:blank',
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        port_file, t0 = Path(self.profile) / 'DevToolsActivePort', time.time()
        while not (port_file.exists() and len(port_file.read_text().split()) >= 2):
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f'{exe} exited with {self.proc.returncode}: {self.proc.stderr.read().decode()[-2000:]}'
                )
            if time.time() - t0 > timeout:
                raise RuntimeError(f'{exe}: no DevTools port after {timeout} s')
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        targets = json.load(
            urllib.request.urlopen(f'http://127.0.0.1:{port}/json/list', timeout=10)
        )
        page = next(t for t in targets if t['type'] == 'page')
        self.ws = websocket.create_connection(
            page['webSocketDebuggerUrl'], timeout=timeout, suppress_origin=True
        )
        self.events = []
        self.call('Page.enable')
        self.call('Runtime.enable')
        self.call(
            'Emulation.setDeviceMetricsOverride',
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def call(self, method: str, **params):
        "Send one DevTools command and return its result (events that arrive meanwhile are kept)."
        self.id += 1
        self.ws.send(json.dumps(dict(id=self.id, method=method, params=params)))
        while True:
            m = json.loads(self.ws.recv())
            if m.get('id') == self.id:
                if 'error' in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get('result', {})
            self.events.append(m)

    def wait_event(self, name: str):
        t0 = time.time()
        while True:
            for i, e in enumerate(self.events):
                if e.get('method') == name:
                    return self.events.pop(i)
            if time.time() - t0 > self.timeout:
                raise TimeoutError(f'no {name} within {self.timeout} s')
            self.events.append(json.loads(self.ws.recv()))

    def close(self):
        with contextlib.suppress(Exception):
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)


# Runs in the page once it has loaded: wait for MathJax and for every image to decode, then report images and links.
PROBE = """(async () => {
  if (window.MathJax && MathJax.Hub) await new Promise(r => MathJax.Hub.Queue(r));  // formulas typeset before the screenshot
  await Promise.all([...document.images].map(i => i.decode().catch(() => null)));
  return JSON.stringify({
    title: document.title, text: document.body ? document.body.innerText.length : 0,
    images: [...document.images].map(i => ({src: i.currentSrc || i.src, w: i.naturalWidth, h: i.naturalHeight})),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href)});
})()"""


def data_uri_ok(src: str) -> bool:
    "Whether a data: URI decodes (base64) to something non-empty."
    head, _, body = src.partition(',')
    try:
        raw = (
            base64.b64decode(body, validate=True)
            if head.endswith(';base64')
            else urllib.parse.unquote_to_bytes(body)
        )
    except ValueError:
        return False
    return len(raw) > 0


def check_page(cr: Chromium, base: str, page: str, shots: Path, link_cache: dict) -> tuple:
    "Open one page, screenshot it, and return (problems, info)."
    cr.events.clear()
    nav = cr.call('Page.navigate', url=base + page)
    if nav.get('errorText'):
        return [f'{page}: does not load ({nav["errorText"]})'], {}
    cr.wait_event('Page.loadEventFired')
    r = cr.call('Runtime.evaluate', expression=PROBE, awaitPromise=True, returnByValue=True)
    info, bad = json.loads(r['result']['value']), []
    if info['text'] < 50:
        bad.append(f'{page}: page is (nearly) empty')
    for im in info['images']:
        src = im['src']
        if im['w'] == 0:
            bad.append(f"{page}: image not shown: {src[:80]}{'…' if len(src) > 80 else ''}")
        elif src.startswith('data:') and not data_uri_ok(src):
            bad.append(f'{page}: image data URI does not decode: {src[:60]}…')
    for href in info['links']:
        if not href.startswith(base):
            continue  # external links are not followed (the check runs offline)
        url = href.split('#')[0]
        if url not in link_cache:
            link_cache[url] = http_status(url)
        if link_cache[url] != 200:
            bad.append(f'{page}: broken link {href[len(base) :]} (HTTP {link_cache[url]})')
    shot = cr.call('Page.captureScreenshot', format='png')
    (shots / (Path(page).stem + '.png')).write_bytes(base64.b64decode(shot['data']))
    return bad, info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--docs', default='_docs')
    p.add_argument('--nbs', default='nbs')
    p.add_argument('--chromium', default=os.environ.get('CHROMIUM', 'chromium'))
    p.add_argument('--width', type=int, default=1280)
    p.add_argument('--height', type=int, default=1000)
    a = p.parse_args(argv)
    t0, docs = time.time(), Path(a.docs)
    exe = shutil.which(a.chromium)
    if exe is None:
        sys.exit(
            f'check_site: {a.chromium!r} not found; install it with: apt-get install -y chromium'
        )
    if not docs.is_dir():
        sys.exit(
            f'check_site: {docs}/ does not exist; build it first with: python .ci/build_docs.py'
        )
    shots = docs / 'screenshots'
    shots.mkdir(exist_ok=True)
    want = expected_pages(Path(a.nbs))
    pages = sorted(
        set(want) | {f.name for f in docs.glob('*.html')}, key=lambda n: (n != 'index.html', n)
    )
    bad = [f'missing page {n}' for n in want if not (docs / n).is_file()]
    cr, cache = Chromium(exe, a.width, a.height), {}
    try:
        with serve(docs) as base:
            for page in pages:
                if not (docs / page).is_file():
                    continue
                t = time.time()
                b, info = check_page(cr, base, page, shots, cache)
                bad += b
                print(
                    f"{'ok ' if not b else 'BAD'} {page:<24} {len(info.get('images', [])):3d} images {len(info.get('links', [])):4d} links "
                    f'{time.time() - t:5.1f} s',
                    flush=True,
                )
    finally:
        cr.close()
    for b in bad:
        print('SITE:', b)
    print(
        f'site: {len(pages)} pages, {len(cache)} internal URLs checked, {len(bad)} problems, {time.time() - t0:.1f} s; screenshots in {shots}/'
    )
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
