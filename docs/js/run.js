// Run, edit and restore the Python blocks of a chapter, in the page.
//
// The hook (tools/mkdocs_hooks.py) marks each Python block of a chapter with
// the class mg-cell and its index (data-block); blocks that cannot run in a
// browser also have mg-norun and a line saying why. This script adds the
// controls. Nothing is loaded until the reader first presses Run: then the
// chapter's session file (its prelude and blocks) and the runtime (Pyodide,
// Graphviz in WebAssembly, the book's wheels, all served by this site) load
// into a Web Worker (run-worker.js), where the chapter's blocks share one
// interpreter, as they do when the book is built.
(function () {
  "use strict";
  var script = document.currentScript;
  var ROOT = new URL("..", script ? script.src : location.href).href;
  var STORE = "mg-edit:";
  var SHOWN = 200000;  // characters of output a block shows (its start and its end)

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  function hash(text) {  // small and stable: tells whether a stored edit is for this code
    var h = 2166136261;
    for (var i = 0; i < text.length; i++) { h ^= text.charCodeAt(i); h = Math.imul(h, 16777619); }
    return (h >>> 0).toString(36);
  }

  // A chapter's Python session in a Web Worker (run-worker.js), started from
  // its session file `data`. Every message but "ready" and "failed" goes to
  // `receive`; a worker the browser ends later reports {type: "crashed"}.
  // The playground (playground.js) starts its session with this too.
  function startWorker(data, receive) {
    var worker = new Worker(new URL("js/run-worker.js", ROOT), { type: "module" });
    var started = false;
    var ready = new Promise(function (resolve, reject) {
      worker.onmessage = function (event) {
        var msg = event.data;
        if (msg.type === "ready") { started = true; resolve(worker); }
        else if (msg.type === "failed") reject(new Error(msg.error));
        else receive(msg);
      };
      worker.onerror = function (event) {
        var why = event.message || "the Python runtime stopped";
        if (!started) reject(new Error(why));
        else receive({ type: "crashed", error: why });
      };
    });
    worker.postMessage({ type: "start", runtime: Object.assign({ root: ROOT }, data.runtime),
                         chapter: data.chapter, prelude: data.prelude });
    return { worker: worker, ready: ready };
  }
  window.mgStartWorker = startWorker;

  function Chapter(start) {
    this.sessionURL = new URL(start.getAttribute("data-session"), location.href).href;
    this.data = null;       // the session file, fetched at the first Run
    this.worker = null;
    this.ready = null;      // Promise: the worker's interpreter is ready
    this.epoch = 0;         // +1 at each Stop/Restart: older queued runs give up
    this.queue = Promise.resolve();
    this.waiting = {};      // run id -> {resolve, cell}
    this.nextId = 1;
    this.edits = 0;         // edited runs so far: each gets a file name of its own
    this.cells = [];
    var self = this;
    document.querySelectorAll("div.mg-cell").forEach(function (box) {
      self.cells.push(new Cell(self, box));
    });
    forgetOldEdits(this.cells);
  }

  Chapter.prototype.load = function () {
    var self = this;
    if (this.ready) return this.ready;
    this.ready = (this.data ? Promise.resolve(this.data) : fetch(this.sessionURL).then(function (r) {
      if (!r.ok) throw new Error("cannot load " + self.sessionURL + " (" + r.status + ")");
      return r.json();
    })).then(function (data) {
      if (data.blocks.length !== self.cells.length) {
        throw new Error("this page has " + self.cells.length + " blocks but its session file " +
                        data.blocks.length + "; reload the page");
      }
      self.data = data;
      self.cells.forEach(function (cell, i) {
        cell.original = data.blocks[i].code;
        cell.line = data.blocks[i].line;
      });
      var started = startWorker(data, function (msg) { self.receive(msg); });
      self.worker = started.worker;
      return new Promise(function (resolve, reject) {
        self.abortStart = reject;  // Stop while Python is starting
        started.ready.then(resolve, reject);
      });
    });
    var epoch = this.epoch;
    this.ready.catch(function () { if (self.epoch === epoch) self.stop(); });
    return this.ready;
  };

  Chapter.prototype.receive = function (msg) {
    if (msg.type === "crashed") return this.crashed(msg.error);
    var job = this.waiting[msg.id];
    if (!job) return;
    if (msg.type === "out") {
      job.cell.stream(msg.text);
    } else if (msg.type === "done") {
      delete this.waiting[msg.id];
      job.resolve(msg.result);
    }
  };

  Chapter.prototype.crashed = function (why) {
    this.stop("The Python session crashed (" + why + ").\nIts variables are gone: " +
              "press Run again to start it afresh.");
  };

  // End the session: the worker goes, and with it every variable. Runs that
  // were waiting give up; the one running reports `why`.
  Chapter.prototype.stop = function (why) {
    this.epoch++;
    if (this.abortStart) this.abortStart(Object.assign(new Error("stopped"), { stopped: true }));
    this.abortStart = null;
    if (this.worker) this.worker.terminate();
    this.worker = null;
    this.ready = null;
    var waiting = this.waiting;
    this.waiting = {};
    Object.keys(waiting).forEach(function (id) {
      waiting[id].resolve({ status: "error", output: "",
                            error: why || "Stopped: the session was ended." });
    });
    this.cells.forEach(function (cell) { cell.forget(); });
    this.queue = Promise.resolve();
  };

  Chapter.prototype.execute = function (cell) {
    var filename = this.data.chapter;
    if (cell.isEdited()) filename += " (your edit #" + (++this.edits) + ")";
    return this.send(cell.code(), cell.line, filename, cell);
  };

  // Run `code` in the session; printed text streams to `cell`, if any.
  Chapter.prototype.send = function (code, line, filename, cell) {
    var self = this;
    return new Promise(function (resolve) {
      var id = self.nextId++;
      self.waiting[id] = { resolve: resolve, cell: cell || { stream: function () {} } };
      self.worker.postMessage({ type: "run", id: id, code: code, line: line, filename: filename });
    });
  };

  // Check an exercise: the reader's start block runs (again), then the
  // blocks up to its check block, then check_NAME().
  Chapter.prototype.check = function (start) {
    var self = this;
    var name = start.box.getAttribute("data-exercise");
    var checkCell = this.cells.filter(function (c) {
      return c.box.getAttribute("data-exercise") === name &&
        c.box.getAttribute("data-exercise-kind") === "check";
    })[0];
    start.checking(true);
    start.ran = false;
    return this.runUpTo(checkCell).then(function (ok) {
      if (!ok) {
        var failed = [start, checkCell].filter(function (c) {
          return c.output.getAttribute("data-status") === "error";
        })[0];
        return start.checked("fail", failed ? "Your code did not run: see the error under it."
                                            : "Not checked: the session was stopped.");
      }
      return self.send("check_" + name + "()\n", 0, "<check " + name + ">").then(function (r) {
        if (r.status === "ok") return start.checked("pass", (r.output || "").trim() || "Correct.");
        var lines = (r.error || "").trim().split("\n");
        var last = lines[lines.length - 1].replace(/^AssertionError: ?/, "");
        start.checked("fail", last || "The check failed.");
      });
    });
  };

  // Run the blocks above `target` that have not run in this session, then it.
  Chapter.prototype.runUpTo = function (target) {
    var self = this;
    if (target.pending) return this.queue;  // a second click on a waiting block
    target.pending = true;
    target.output.removeAttribute("data-status");  // at once: a result will come
    target.stopButton.hidden = false;
    var epoch = this.epoch;
    var current = function () { return self.epoch === epoch; };
    var job = this.queue.then(function () {
      if (!current()) return false;
      target.setState("queued", self.ready ? "waiting for the blocks above…"
                                           : "starting Python in this page…");
      return self.load().then(function () {
        var chain = Promise.resolve(true);
        self.cells.forEach(function (cell) {
          if (cell.index > target.index || !cell.runs) return;
          if (cell !== target && cell.ran) return;
          chain = chain.then(function (ok) {
            if (!ok || !current()) return false;
            return cell.run().then(function (status) {
              if (status === "ok" || cell === target) return true;
              if (current()) {
                target.show({ status: "error", output: "", error:
                  "Not run: the block above at line " + cell.line + " failed; fix it or " +
                  "restore it, then run this one again." });
              }
              return false;
            });
          });
        });
        return chain;
      }, function (err) {
        // A failed start has already ended the session (load), so the epoch
        // has moved on: say why, unless the reader pressed Stop.
        if (!err.stopped) {
          target.show({ status: "error", output: "", error:
            "The Python runtime could not start: " + err.message });
        }
      });
    });
    var done = function () {
      target.pending = false;
      if (!current() && !target.output.hasAttribute("data-status")) target.forget();
    };
    this.queue = job.then(done, done);
    return job;
  };

  Chapter.prototype.markStaleAfter = function (index) {
    this.cells.forEach(function (cell) {
      if (cell.index > index && cell.hasResult()) cell.setStale(true, "a block above it changed");
    });
  };

  // Stored edits of this page whose block has changed since: remove them.
  function forgetOldEdits(cells) {
    try {
      var mine = {};
      cells.forEach(function (cell) { mine[cell.key] = cell; });
      var prefix = STORE + pagePath() + ":";
      for (var i = localStorage.length - 1; i >= 0; i--) {
        var key = localStorage.key(i);
        if (key.indexOf(prefix) !== 0) continue;
        if (!mine[key] || mine[key].loadEdit() === null) localStorage.removeItem(key);
      }
    } catch (e) { /* no storage */ }
  }

  function pagePath() {  // /nn/ and /nn/index.html are one page
    return location.pathname.replace(/index\.html$/, "");
  }

  // A code element's text without Material's annotation bubbles (as Copy does)
  function textOf(code) {
    var copy = code.cloneNode(true);
    copy.querySelectorAll(".md-annotation").forEach(function (n) { n.remove(); });
    return copy.textContent.replace(/\u00a0/g, " ");
  }

  function Cell(chapter, box) {
    this.chapter = chapter;
    this.box = box;
    this.index = Number(box.getAttribute("data-block"));
    this.runs = !box.classList.contains("mg-norun");
    this.codeEl = box.querySelector("pre > code");
    this.originalHTML = this.codeEl ? this.codeEl.innerHTML : "";
    this.shown = this.codeEl ? textOf(this.codeEl) : "";  // the code as the page shows it
    this.original = this.shown;  // the block's exact code, from the session file once loaded
    this.line = 0;
    this.ran = false;
    this.pending = false;
    this.figure = null;
    this.key = STORE + pagePath() + ":" + this.index;
    // what the build put below the block: its checked output, its figure and
    // the figure's view controls (figures.js, which runs first)
    this.built = [];
    for (var next = box.nextElementSibling; next; next = next.nextElementSibling) {
      if (next.matches(".mg-output, figure.mg-figure, .mg-zoom")) this.built.push(next);
      else break;
    }
    if (this.runs && this.codeEl) this.addControls();
  }

  Cell.prototype.addControls = function () {
    var self = this;
    var bar = el("div", { class: "mg-run-bar" });
    this.runButton = el("button", { type: "button", class: "mg-run-button",
                                    title: "Run this block (and the blocks above it that have not run)" }, "Run");
    this.editButton = el("button", { type: "button", class: "mg-edit-button" }, "Edit");
    this.restoreButton = el("button", { type: "button", class: "mg-restore-button", hidden: "" }, "Restore");
    this.stopButton = el("button", { type: "button", class: "mg-stop-button", hidden: "" }, "Stop");
    this.restartButton = el("button", { type: "button", class: "mg-restart-button", hidden: "",
                                        title: "Start this chapter's Python session afresh" }, "Restart");
    this.status = el("span", { class: "mg-run-status" });
    [this.runButton, this.editButton, this.restoreButton, this.stopButton, this.restartButton,
     this.status].forEach(function (b) { bar.appendChild(b); });
    this.output = el("pre", { class: "mg-run-output", "data-output": "", hidden: "",
                              "aria-live": "polite", "aria-label": "Output of the block above" });
    var after = this.built.length ? this.built[this.built.length - 1] : this.box;
    after.after(bar, this.output);

    this.runButton.addEventListener("click", function () { self.chapter.runUpTo(self); });
    this.editButton.addEventListener("click", function () { self.startEditing(true); });
    this.restoreButton.addEventListener("click", function () { self.restore(); });
    this.stopButton.addEventListener("click", function () { self.chapter.stop(); });
    this.restartButton.addEventListener("click", function () { self.chapter.stop(); });
    this.codeEl.addEventListener("input", function () { self.edited(); });
    this.codeEl.addEventListener("keydown", function (event) {
      if (!self.codeEl.isContentEditable) return;
      if (event.key === "Tab" && !event.shiftKey) {
        event.preventDefault();
        document.execCommand("insertText", false, "    ");
      } else if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.metaKey &&
                 self.codeEl.contentEditable !== "plaintext-only") {
        event.preventDefault();  // a browser without plaintext-only: a newline, not a <br>
        document.execCommand("insertText", false, "\n");
      } else if (event.key === "Enter" && (event.shiftKey || event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        self.chapter.runUpTo(self);
      } else if (event.key === "Escape") {
        self.codeEl.blur();
      }
    });
    if (this.box.getAttribute("data-exercise-kind") === "start") {
      this.checkButton = el("button", { type: "button", class: "mg-check-button",
                                        title: "Run your code, then the exercise's check" }, "Check");
      bar.insertBefore(this.checkButton, this.editButton);
      this.checkResult = el("p", { class: "mg-check", "data-check": "", hidden: "",
                                   "aria-live": "polite" });
      this.output.after(this.checkResult);
      this.checkButton.addEventListener("click", function () { self.chapter.check(self); });
    }
    var stored = this.loadEdit();
    if (stored !== null) {
      this.codeEl.textContent = stored;
      this.startEditing(false);
      this.restoreButton.hidden = false;
      this.box.classList.add("mg-edited");
    }
  };

  Cell.prototype.checking = function () {
    this.checkResult.hidden = false;
    this.checkResult.removeAttribute("data-status");
    this.checkResult.textContent = "checking…";
  };

  Cell.prototype.checked = function (status, message) {
    this.checkResult.hidden = false;
    this.checkResult.textContent = (status === "pass" ? "✔ " : "✘ ") + message;
    this.checkResult.setAttribute("data-status", status);
  };

  Cell.prototype.dropFigure = function () {  // with its view controls, if it has them
    if (!this.figure) return;
    var bar = this.figure.nextElementSibling;
    if (bar && bar.classList.contains("mg-zoom")) bar.remove();
    this.figure.remove();
    this.figure = null;
  };

  Cell.prototype.isEdited = function () { return this.box.classList.contains("mg-edited"); };

  Cell.prototype.hasResult = function () {
    return this.output && !this.output.hidden && this.output.hasAttribute("data-status");
  };

  Cell.prototype.code = function () {
    return this.isEdited() ? textOf(this.codeEl) : this.original;
  };

  Cell.prototype.startEditing = function (focus) {
    this.codeEl.setAttribute("contenteditable", "plaintext-only");
    if (this.codeEl.contentEditable !== "plaintext-only") this.codeEl.setAttribute("contenteditable", "true");
    this.codeEl.setAttribute("spellcheck", "false");
    this.codeEl.setAttribute("role", "textbox");
    this.codeEl.setAttribute("aria-multiline", "true");
    this.codeEl.setAttribute("aria-label",
      "Code of this block, editable; Shift+Enter runs it, Escape leaves the editor");
    this.editButton.hidden = true;
    if (focus) this.codeEl.focus();
  };

  Cell.prototype.edited = function () {
    var text = textOf(this.codeEl);
    var changed = text.replace(/\n$/, "") !== this.shown.replace(/\n$/, "");
    this.box.classList.toggle("mg-edited", changed);
    this.restoreButton.hidden = !changed;
    this.saveEdit(changed ? text : null);
    if (this.hasResult()) this.setStale(true, "edited since it ran");
    this.chapter.markStaleAfter(this.index);
  };

  Cell.prototype.restore = function () {
    this.codeEl.innerHTML = this.originalHTML;
    ["contenteditable", "role", "aria-multiline", "aria-label"].forEach(function (a) {
      this.codeEl.removeAttribute(a);
    }, this);
    this.box.classList.remove("mg-edited");
    this.restoreButton.hidden = true;
    this.editButton.hidden = false;
    this.saveEdit(null);
    if (this.hasResult()) this.setStale(true, "restored since it ran");
    this.chapter.markStaleAfter(this.index);
  };

  Cell.prototype.loadEdit = function () {
    try {
      var saved = JSON.parse(localStorage.getItem(this.key) || "null");
      if (saved && saved.of === hash(this.shown)) return saved.code;
    } catch (e) { /* no storage, or not ours */ }
    return null;
  };

  Cell.prototype.saveEdit = function (code) {
    try {
      if (code === null) localStorage.removeItem(this.key);
      else localStorage.setItem(this.key, JSON.stringify({ of: hash(this.shown), code: code }));
    } catch (e) { /* storage full or disabled: the edit lives until the page goes */ }
  };

  Cell.prototype.setState = function (state, text) {
    this.output.setAttribute("data-state", state);
    this.status.textContent = text || "";
  };

  Cell.prototype.setStale = function (stale, why) {
    if (stale && !this.hasResult()) return;
    this.output.classList.toggle("mg-stale", stale);
    if (this.figure) this.figure.classList.toggle("mg-stale", stale);
    if (stale) this.output.setAttribute("data-stale", "");
    else this.output.removeAttribute("data-stale");
    if (stale) this.status.textContent = "stale: " + (why || "it ran before a change") + "; run it again";
  };

  Cell.prototype.stream = function (text) {
    this.output.hidden = false;
    this.streamed = (this.streamed || 0) + text.length;
    if (this.streamed <= SHOWN) this.output.append(text);  // a text node: no re-layout of all
  };

  function clip(text) {  // a huge output: its start and its end, saying what is left out
    if (text.length <= SHOWN) return text;
    var half = SHOWN / 2;
    return text.slice(0, half) + "\n[... " + (text.length - SHOWN) +
      " characters not shown ...]\n" + text.slice(text.length - half);
  }

  Cell.prototype.run = function () {
    var self = this;
    var chapter = this.chapter;
    chapter.markStaleAfter(this.index);
    this.output.textContent = "";
    this.streamed = 0;
    this.output.hidden = false;
    this.output.removeAttribute("data-status");
    this.output.setAttribute("aria-busy", "true");
    this.dropFigure();
    this.setStale(false);
    this.setState("running", "running…");
    this.built.forEach(function (node) { node.hidden = true; });
    this.stopButton.hidden = false;
    return chapter.execute(this).then(function (result) {
      self.show(result);
      return result.status;
    });
  };

  Cell.prototype.show = function (result) {
    this.ran = result.status === "ok";
    this.dropFigure();
    this.output.hidden = false;
    this.output.removeAttribute("aria-busy");
    this.output.classList.remove("mg-stale");
    this.output.removeAttribute("data-stale");
    this.stopButton.hidden = true;
    this.streamed = 0;
    this.output.textContent = clip(result.output || "") + (result.error || "");
    this.output.classList.toggle("mg-error", result.status !== "ok");
    this.built.forEach(function (node) { node.hidden = true; });
    if (result.figure) {
      this.figure = el("figure", { class: "mg-figure mg-run-figure" });
      this.figure.innerHTML = result.figure;
      this.output.after(this.figure);
      if (window.mgFigureTools) window.mgFigureTools(this.figure);
    }
    this.restartButton.hidden = false;
    var differs = this.box.getAttribute("data-differs");
    var ms = result.ms;
    var text = result.status !== "ok" ? "error"
      : "ran" + (ms !== undefined ? " in " + (ms / 1000).toFixed(2) + " s" : "");
    if (result.status === "ok" && differs) text += "; in the browser this output differs from the book's: " + differs;
    this.setState(result.status, text);
    if (ms !== undefined) this.output.setAttribute("data-ms", ms.toFixed(1));
    this.output.setAttribute("data-status", result.status === "ok" ? "ok" : "error");
  };

  // The session ended: what ran is gone; outputs stay, marked stale.
  Cell.prototype.forget = function () {
    if (!this.runs || !this.output) return;
    this.ran = false;
    this.stopButton.hidden = true;
    this.output.removeAttribute("aria-busy");
    if (this.hasResult()) {
      this.setStale(true, "the session was restarted");
    } else if (!this.output.hasAttribute("data-status")) {
      this.status.textContent = "";
      if (!this.output.textContent) this.output.hidden = true;
    }
  };

  function setUp() {
    if (document.querySelector(".mg-playground") && !document.querySelector("script.mg-pg-script")) {
      var pg = el("script", { src: new URL("js/playground.js", ROOT).href, class: "mg-pg-script" });
      document.head.appendChild(pg);
    }
    var start = document.querySelector(".mg-start[data-session]");
    if (!start || !document.querySelector("div.mg-cell")) return;
    new Chapter(start);
  }

  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(setUp);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
