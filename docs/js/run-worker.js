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
    // input() meets the end of its input at once (an EOFError), never a prompt
    loadPyodide({ indexURL, packages: [], stdin: () => null }),
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
