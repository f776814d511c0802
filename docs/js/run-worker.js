// The in-page Python session of one chapter, in a Web Worker so that the page
// stays responsive while a block runs. It only drives: blocks are run and
// their results shown by tools/cell.py, the code the build runs them with.
//
// Messages in:  {type: "start", runtime, chapter, prelude}   (once)
//               {type: "run", id, code, line, filename}
// Messages out: {type: "ready"} | {type: "failed", error}
//               {type: "out", id, text}   (printed output, as it comes)
//               {type: "done", id, result: {status, output, figure, error, ms}}
//               {type: "crashed", id, error}   (the interpreter is gone)

let cell = null;
let namespace = null;
let chapter = "";

async function start(msg) {
  const base = (url) => new URL(url, msg.runtime.root).href;
  const indexURL = base(msg.runtime.pyodide);
  const [{ loadPyodide }, vizModule] = await Promise.all([
    import(indexURL + "pyodide.mjs"),
    import(base(msg.runtime.viz)),
  ]);
  const [pyodide, viz] = await Promise.all([
    startPython(loadPyodide, indexURL),
    vizModule.instance(),
  ]);
  await pyodide.loadPackage(msg.runtime.wheels.map(base), {
    messageCallback: () => {},
  });
  cell = pyodide.pyimport("tools.cell");
  cell.render_dot = (source) => viz.renderString(source, { format: "svg" });
  chapter = msg.chapter;
  namespace = cell.new_namespace(msg.prelude, `<prelude of ${chapter}>`);
}

// Starting Python (about 2 s here) is mostly CPython initialising itself. The
// first page to start it keeps a copy of the interpreter's memory as it is
// right after that (a Pyodide memory snapshot, taken before the book's code is
// loaded: 31 MB, about 6 MB gzipped) in the browser's Cache Storage, one copy
// per Pyodide version. The next page, or the next start after Stop, restores
// the copy and has Python ready in about a quarter of the time. Where there is
// no Cache Storage (a page served over plain http to another machine) Python
// starts the ordinary way, as it does when the copy does not load (gzip's
// checksum catches a damaged one, Pyodide a copy of another build): the copy
// is dropped and made again. A session from the copy gets its own random
// numbers (random.seed() reseeds from the system); str hashes keep the copy's
// salt, as with one fixed PYTHONHASHSEED for this browser. The snapshot options
// are Pyodide's private API, pinned with it by package-lock.json; any failure
// of theirs falls back to the ordinary start.
const STORE = "micrograd-book-python";

async function startPython(loadPyodide, indexURL) {
  // input() meets the end of its input at once (an EOFError), never a prompt
  const options = { indexURL, packages: [], stdin: () => null };
  const key = indexURL + "memory-snapshot.gz";
  const store = self.caches && self.CompressionStream
    ? await caches.open(STORE).catch(() => null) : null;
  const saved = store ? await store.match(key).catch(() => null) : null;
  if (saved) {
    try {
      const bytes = await new Response(saved.body.pipeThrough(new DecompressionStream("gzip")))
        .arrayBuffer();
      const pyodide = await loadPyodide({ ...options, _loadSnapshot: new Uint8Array(bytes) });
      if (pyodide.runPython("import random; random.seed(); sum(range(10))") !== 45) {
        throw new Error("Python from the copy does not compute");
      }
      delete pyodide._api?.config?._loadSnapshot;  // Pyodide keeps its options: let it go
      return pyodide;
    } catch (err) {
      console.warn(`Python starts the ordinary way; its kept copy did not load: ${err}`);
      await store.delete(key).catch(() => {});
    }
  }
  const pyodide = await loadPyodide({ ...options, _makeSnapshot: Boolean(store) });
  if (store) {
    try {
      keep(store, key, pyodide.makeMemorySnapshot());
    } catch (err) {
      console.warn(`no copy of Python kept: ${err}`);
    }
  }
  return pyodide;
}

// Store the copy gzipped, in the background, a megabyte at a time (so a Run
// waits for one piece at most, not for the whole 31 MB); drop this site's
// copies for other Pyodide versions (the keys under the same runtime/ folder).
function keep(store, key, snapshot) {
  const runtime = new URL("..", key).href;
  let offset = 0;
  const gzipped = new ReadableStream({
    pull(controller) {
      controller.enqueue(snapshot.subarray(offset, offset + (1 << 20)));
      offset += 1 << 20;
      if (offset >= snapshot.length) controller.close();
    },
  }).pipeThrough(new CompressionStream("gzip"));
  store.put(key, new Response(gzipped))
    .then(() => store.keys())
    .then((keys) => Promise.all(keys
      .filter((r) => r.url !== key && r.url.startsWith(runtime)
        && r.url.endsWith("/memory-snapshot.gz"))
      .map((r) => store.delete(r))))
    .catch((err) => console.warn(`no copy of Python kept: ${err}`));
}

function run(msg) {
  // Printed text goes out at most every 50 ms: a loop printing thousands of
  // lines does not flood the page with messages.
  let pending = "";
  let sent = 0;  // the first piece goes out at once
  const flush = () => {
    if (pending) postMessage({ type: "out", id: msg.id, text: pending });
    pending = "";
    sent = Date.now();
  };
  const write = (text) => {
    pending += text;
    if (Date.now() - sent > 50) flush();
  };
  const started = performance.now();
  // an edited block has a file name of its own, so tracebacks quote its lines
  const proxy = cell.page_run(msg.code, namespace, msg.filename || chapter, msg.line, write);
  const result = proxy.toJs({ dict_converter: Object.fromEntries });
  result.ms = performance.now() - started;
  proxy.destroy();
  flush();
  postMessage({ type: "done", id: msg.id, result });
}

self.onmessage = async (event) => {
  const msg = event.data;
  if (msg.type === "start") {
    try {
      await start(msg);
      postMessage({ type: "ready" });
    } catch (err) {
      postMessage({ type: "failed", error: String(err && err.message || err) });
    }
  } else if (msg.type === "run") {
    try {
      run(msg);
    } catch (err) {
      // Only a fatal error of the interpreter gets here (a stack overflow,
      // say): tools/cell.py turns every Python exception into a result.
      postMessage({ type: "crashed", id: msg.id, error: String(err && err.message || err) });
    }
  }
};
