// The training playground (docs/playground.md): controls and pictures only.
//
// Training runs in Python, in a Web Worker (run-worker.js, the in-page
// runtime of the Run buttons): the worker runs the chapter's code so far and
// the playground page's own blocks, which define Trainer, its step() and
// snapshot(). This script sends it short lines of Python built from the
// settings (numbers and fixed choices only) and draws what comes back.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var CHUNK = 5;      // steps between two pictures while training
  var GRID = 20;      // the colour map's cells per side while training

  var CHOICES = {
    data: ["moons", "circles", "xor"],
    hidden: { "none": "()", "4": "(4,)", "8": "(8,)", "16": "(16,)", "4-4": "(4, 4)",
              "8-8": "(8, 8)", "16-16": "(16, 16)" },
    loss: { "hinge + L2 (the demo's)": "hinge", "squared error": "squared" },
    batch: { "all 100": 0, "50": 50, "25": 25, "10": 10 },
  };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, parent) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function field(form, label, input) {
    var wrap = el("label", { class: "mg-pg-field" });
    wrap.appendChild(el("span", {}, label));
    wrap.appendChild(input);
    form.appendChild(wrap);
    return input;
  }

  function select(options, chosen) {
    var s = el("select");
    Object.keys(options).forEach(function (key) {
      var o = el("option", { value: key }, key);
      if (key === chosen) o.selected = true;
      s.appendChild(o);
    });
    return s;
  }

  function Playground(box, sessionURL) {
    this.box = box;
    this.sessionURL = sessionURL;
    this.worker = null;
    this.ready = null;
    this.nextId = 1;
    this.waiting = {};
    this.running = false;
    this.busy = false;
    this.losses = [];
    this.point = 0;
    this.state = null;
    this.build();
  }

  Playground.prototype.build = function () {
    var self = this, box = this.box;
    var form = el("form", { class: "mg-pg-controls", "aria-label": "Playground settings" });
    var dataOptions = {};
    CHOICES.data.forEach(function (d) { dataOptions[d] = d; });
    this.inputs = {
      data: field(form, "Data", select(dataOptions, "moons")),
      noise: field(form, "Noise", el("input", { type: "number", min: "0", max: "0.5", step: "0.05", value: "0.1" })),
      hidden: field(form, "Hidden layers", select(CHOICES.hidden, "16-16")),
      loss: field(form, "Loss", select(CHOICES.loss, "hinge + L2 (the demo's)")),
      lr: field(form, "Learning rate", el("input", { type: "number", min: "0.001", max: "20", step: "any", value: "1" })),
      decay: field(form, "Decay", el("input", { type: "checkbox", checked: "" })),
      batch: field(form, "Batch", select(CHOICES.batch, "all 100")),
      forget: field(form, "Forget zero_grad", el("input", { type: "checkbox" })),
    };
    form.addEventListener("change", function () { self.reset(); });
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    box.appendChild(form);

    var buttons = el("div", { class: "mg-pg-buttons" });
    this.buttons = {};
    ["Train", "Pause", "Step", "Reset"].forEach(function (name) {
      var b = el("button", { type: "button", class: "mg-pg-" + name.toLowerCase() }, name);
      buttons.appendChild(b);
      self.buttons[name] = b;
    });
    this.buttons.Pause.disabled = true;
    this.buttons.Train.addEventListener("click", function () { self.train(); });
    this.buttons.Pause.addEventListener("click", function () { self.pause(); });
    this.buttons.Step.addEventListener("click", function () { self.step(); });
    this.buttons.Reset.addEventListener("click", function () { self.reset(); });
    box.appendChild(buttons);

    var readouts = el("p", { class: "mg-pg-readouts", "aria-live": "polite" });
    this.readStep = el("span", { "data-step": "0" }, "0");
    this.readLoss = el("span", { "data-loss": "" }, "–");
    this.readAccuracy = el("span", { "data-accuracy": "" }, "–");
    readouts.append("step ", this.readStep, " · loss ", this.readLoss, " · accuracy ",
                    this.readAccuracy);
    this.status = el("span", { class: "mg-pg-status" },
                     " Press Train or Step: Python loads into the page (once).");
    readouts.appendChild(this.status);
    box.appendChild(readouts);

    var plots = el("div", { class: "mg-pg-plots" });
    this.boundary = svg("svg", { viewBox: "0 0 240 240", class: "mg-pg-boundary", role: "img",
                                 "aria-label": "The data points over the network's decision regions" });
    this.curve = svg("svg", { viewBox: "0 0 240 160", class: "mg-pg-curve", role: "img",
                              "aria-label": "The loss at each step, on a log scale" });
    this.net = svg("svg", { viewBox: "0 0 320 240", class: "mg-pg-net", role: "img",
                            "aria-label": "The network: neurons and weights" });
    [[this.boundary, "Data and decision boundary (click a point)"], [this.curve, "Loss"],
     [this.net, "The network on the chosen point"]].forEach(function (pair) {
      var fig = el("figure", { class: "mg-pg-plot" });
      fig.appendChild(pair[0]);
      fig.appendChild(el("figcaption", {}, pair[1]));
      plots.appendChild(fig);
    });
    box.appendChild(plots);
    this.info = el("p", { class: "mg-pg-info", "aria-live": "polite" },
                   "Hover or tap a neuron or a weight to read its data and grad.");
    box.appendChild(this.info);
    var code = el("p", { class: "mg-pg-code" });
    code.innerHTML = 'Each step runs <a href="#the-training-step"><code>Trainer.step()</code></a> ' +
      "below: the loop of <a href=\"../training/\">Training</a>, on the library's " +
      '<a href="../nn/">MLP</a> with the fast path of <a href="../fast/">Making it fast</a> ' +
      "(<code>fused=True</code>, a neuron is one node), gradients by " +
      '<a href="../backward/"><code>backward()</code></a>.';
    box.appendChild(code);
  };

  Playground.prototype.settings = function () {
    var i = this.inputs;
    var noise = Math.min(Math.max(Number(i.noise.value) || 0, 0), 0.5);
    var lr = Math.min(Math.max(Number(i.lr.value) || 1, 0.001), 20);
    return "Trainer(data=" + JSON.stringify(CHOICES.data.indexOf(i.data.value) >= 0 ? i.data.value : "moons") +
      ", noise=" + noise + ", hidden=" + (CHOICES.hidden[i.hidden.value] || "(16, 16)") +
      ", loss=" + JSON.stringify(CHOICES.loss[i.loss.value] || "hinge") + ", lr=" + lr +
      ", decay=" + (i.decay.checked ? "True" : "False") + ", batch=" + (CHOICES.batch[i.batch.value] || 0) +
      ", zero_grad=" + (i.forget.checked ? "False" : "True") + ")";
  };

  Playground.prototype.load = function () {
    var self = this;
    if (this.ready) return this.ready;
    this.status.textContent = " Loading Python…";
    this.ready = fetch(this.sessionURL).then(function (r) {
      if (!r.ok) throw new Error("cannot load " + self.sessionURL);
      return r.json();
    }).then(function (data) {
      var started = window.mgStartWorker(data, function (msg) {
        if (msg.type === "crashed") {  // every waiting step fails; the next press starts afresh
          var waiting = self.waiting;
          self.waiting = {};
          self.ready = null;
          if (self.worker) self.worker.terminate();
          Object.keys(waiting).forEach(function (id) {
            waiting[id]({ status: "error", error: "Python stopped: " + msg.error });
          });
        } else if (msg.type === "done") {
          var job = self.waiting[msg.id];
          delete self.waiting[msg.id];
          if (job) job(msg.result);
        }
      });
      self.worker = started.worker;
      return started.ready.then(function () { return data; });
    }).then(function (data) {
      // the page's own blocks define the data sets, Trainer and snapshot; the
      // demonstrations (<!--page: playground-skips-->) are left out
      var chain = Promise.resolve();
      data.blocks.filter(function (block) { return block.playground; }).forEach(function (block) {
        chain = chain.then(function () { return self.python(block.code, block.line); });
      });
      return chain;
    }).then(function () {
      return self.python("pg = " + self.settings() + "\n");
    });
    this.ready.catch(function (err) {
      self.status.textContent = " Python could not start: " + err.message;
      self.ready = null;
      self.running = false;
    });
    return this.ready;
  };

  // Run Python in the worker; resolves with what it printed.
  Playground.prototype.python = function (code, line) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var id = self.nextId++;
      self.waiting[id] = function (result) {
        if (result.status === "ok") resolve(result.output);
        else reject(new Error(result.error || "failed"));
      };
      self.worker.postMessage({ type: "run", id: id, code: code, line: line || 0 });
    });
  };

  // `steps` training steps, then a picture; updates the page.
  Playground.prototype.advance = function (steps, size) {
    var self = this;
    this.busy = true;
    var code = "_r = [pg.step() for _ in range(" + steps + ")]\n" +
      "print(json.dumps({'step': pg.k, 'results': _r}))\n" +
      "print(snapshot(pg, " + this.point + ", " + (size || 24) + "))\n";
    return this.load().then(function () { return self.python(code); }).then(function (out) {
      var lines = out.trim().split("\n");
      var head = JSON.parse(lines[0]);
      head.results.forEach(function (r) { self.losses.push(r[0]); });
      var last = head.results[head.results.length - 1];
      self.show(head.step, last[0], last[1], JSON.parse(lines[1]));
      self.busy = false;
      self.status.textContent = self.running ? " training…" : "";
    }, function (err) {
      self.busy = false;
      self.running = false;
      self.status.textContent = " " + err.message;
      self.buttonsFor();
      throw err;
    });
  };

  Playground.prototype.train = function () {
    var self = this;
    if (this.running) return;
    this.running = true;
    this.buttonsFor();
    this.status.textContent = " training…";
    var loop = function () {
      if (!self.running) { self.status.textContent = " paused"; return; }
      self.advance(CHUNK, GRID).then(function () {
        setTimeout(loop, 0);  // let the page answer between chunks
      }, function () {});
    };
    loop();
  };

  Playground.prototype.pause = function () {
    this.running = false;
    this.buttonsFor();
  };

  Playground.prototype.step = function () {
    var self = this;
    if (this.running || this.busy) return;
    this.advance(1).then(function () { self.status.textContent = ""; }, function () {});
  };

  Playground.prototype.reset = function () {
    var self = this;
    this.running = false;
    this.buttonsFor();
    var after = function () {
      self.losses = [];
      // step 0: the new network's loss and accuracy, before any update
      return self.python("pg = " + self.settings() + "\n_l, _a = pg.loss(pg.X, pg.y)\n" +
                         "print(json.dumps([_l.data, _a]))\nprint(snapshot(pg, " + self.point + "))\n")
        .then(function (out) {
          var lines = out.trim().split("\n");
          var first = JSON.parse(lines[0]);
          self.show(0, first[0], first[1], JSON.parse(lines[1]));
          self.status.textContent = "";
        });
    };
    // wait for a chunk in flight to end, so its results do not land after the reset
    var wait = function () {
      if (self.busy) return new Promise(function (r) { setTimeout(r, 30); }).then(wait);
      return self.load().then(after);
    };
    return wait().catch(function (err) { self.status.textContent = " " + err.message; });
  };

  Playground.prototype.buttonsFor = function () {
    this.buttons.Train.disabled = this.running;
    this.buttons.Step.disabled = this.running;
    this.buttons.Pause.disabled = !this.running;
  };

  Playground.prototype.show = function (step, loss, accuracy, state) {
    this.state = state;
    this.readStep.setAttribute("data-step", String(step));
    this.readStep.textContent = String(step);
    this.readLoss.setAttribute("data-loss", loss === null ? "" : String(loss));
    this.readLoss.textContent = loss === null ? "–" : loss.toFixed(4);
    this.readAccuracy.setAttribute("data-accuracy", accuracy === null ? "" : String(accuracy));
    this.readAccuracy.textContent = accuracy === null ? "–" : Math.round(accuracy * 100) + "%";
    this.drawBoundary(state);
    this.drawCurve();
    this.drawNet(state);
  };

  function color(v, scale) {  // blue for negative, orange for positive
    var a = Math.min(Math.abs(v) / (scale || 1), 1);
    return v < 0 ? "rgba(31,119,180," + a + ")" : "rgba(255,127,14," + a + ")";
  }

  Playground.prototype.drawBoundary = function (s) {
    var self = this, g = this.boundary;
    g.textContent = "";
    var ax = s.axes, n = ax[0].length, cell = 240 / n;
    var sx = function (x) { return (x - ax[0][0]) / (ax[0][n - 1] - ax[0][0]) * (240 - cell) + cell / 2; };
    var sy = function (y) { return 240 - ((y - ax[1][0]) / (ax[1][n - 1] - ax[1][0]) * (240 - cell) + cell / 2); };
    s.grid.forEach(function (row, j) {
      row.forEach(function (score, i) {
        svg("rect", { x: (i * cell).toFixed(2), y: (240 - (j + 1) * cell).toFixed(2),
                      width: (cell + 0.3).toFixed(2), height: (cell + 0.3).toFixed(2),
                      fill: color(score, 2).replace(/,([\d.]+)\)$/, function (m, a) {
                        return "," + (0.15 + 0.45 * Number(a)).toFixed(3) + ")";
                      }) }, g);
      });
    });
    s.X.forEach(function (p, k) {
      var c = svg("circle", { cx: sx(p[0]).toFixed(2), cy: sy(p[1]).toFixed(2),
                              r: k === s.point ? 5 : 3.2, class: "mg-pg-point",
                              fill: s.y[k] > 0 ? "#ff7f0e" : "#1f77b4",
                              stroke: k === s.point ? "currentColor" : "rgba(0,0,0,0.6)",
                              "stroke-width": k === s.point ? 2 : 0.6 }, g);
      svg("title", {}, c).textContent = "point " + k + ": (" + p[0].toFixed(2) + ", " +
        p[1].toFixed(2) + "), label " + s.y[k];
      c.addEventListener("click", function () {
        self.point = k;
        if (!self.running && !self.busy) {
          self.python("print(snapshot(pg, " + k + "))\n").then(function (out) {
            self.state = JSON.parse(out.trim());
            self.drawBoundary(self.state);
            self.drawNet(self.state);
          });
        }
      });
    });
  };

  Playground.prototype.drawCurve = function () {
    var g = this.curve, L = this.losses;
    g.textContent = "";
    svg("line", { x1: 30, y1: 140, x2: 235, y2: 140, stroke: "currentColor", "stroke-width": 0.5 }, g);
    svg("line", { x1: 30, y1: 5, x2: 30, y2: 140, stroke: "currentColor", "stroke-width": 0.5 }, g);
    var label = function (x, y, text, anchor) {
      var t = svg("text", { x: x, y: y, "font-size": 9, fill: "currentColor",
                            "text-anchor": anchor || "start" }, g);
      t.textContent = text;
    };
    label(132, 155, "step " + L.length, "middle");
    if (!L.length) return;
    var logs = L.map(function (v) { return Math.log10(Math.max(v, 1e-6)); });
    var lo = Math.min.apply(null, logs), hi = Math.max.apply(null, logs);
    if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    label(27, 10, Math.pow(10, hi).toPrecision(2), "end");
    label(27, 140, Math.pow(10, lo).toPrecision(2), "end");
    var pts = logs.map(function (v, k) {
      var x = 30 + 205 * (L.length === 1 ? 0 : k / (L.length - 1));
      var y = 140 - 135 * (v - lo) / (hi - lo);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    svg("polyline", { points: pts.join(" "), fill: "none", stroke: "#ff7f0e", "stroke-width": 1.5 }, g);
  };

  Playground.prototype.drawNet = function (s) {
    var self = this, g = this.net;
    g.textContent = "";
    var sizes = [2].concat(s.layers.map(function (l) { return l.length; }));
    var x = function (i) { return 20 + 280 * i / (sizes.length - 1); };
    var y = function (i, j) { return 120 + (j - (sizes[i] - 1) / 2) * Math.min(220 / sizes[i], 40); };
    var wmax = 0;
    s.layers.forEach(function (l) { l.forEach(function (n) { n.w.forEach(function (w) { wmax = Math.max(wmax, Math.abs(w[0])); }); }); });
    var show = function (text) { return function () { self.info.textContent = text; }; };
    s.layers.forEach(function (layer, i) {
      layer.forEach(function (n, j) {
        n.w.forEach(function (w, k) {
          var line = svg("line", { x1: x(i), y1: y(i, k), x2: x(i + 1), y2: y(i + 1, j),
                                   stroke: w[0] < 0 ? "#1f77b4" : "#ff7f0e",
                                   "stroke-width": (0.3 + 3 * Math.abs(w[0]) / (wmax || 1)).toFixed(2),
                                   "stroke-opacity": 0.75, class: "mg-pg-weight" }, g);
          var text = "weight from " + (i === 0 ? "input " : "layer " + i + " neuron ") + k +
            " to layer " + (i + 1) + " neuron " + j + ": data " + w[0].toFixed(4) +
            ", grad " + w[1].toFixed(4);
          svg("title", {}, line).textContent = text;
          line.addEventListener("mouseenter", show(text));
          line.addEventListener("click", show(text));
        });
      });
    });
    for (var k = 0; k < 2; k++) {
      var c = svg("circle", { cx: x(0), cy: y(0, k), r: 7, fill: color(s.X[s.point][k], 2),
                              stroke: "currentColor", "stroke-width": 0.8 }, g);
      var t = "input " + k + ": " + s.X[s.point][k].toFixed(4) + " (point " + s.point + ")";
      svg("title", {}, c).textContent = t;
      c.addEventListener("click", show(t));
      c.addEventListener("mouseenter", show(t));
    }
    var amax = 0;
    s.layers.forEach(function (l) { l.forEach(function (n) { amax = Math.max(amax, Math.abs(n.data)); }); });
    s.layers.forEach(function (layer, i) {
      layer.forEach(function (n, j) {
        var c = svg("circle", { cx: x(i + 1), cy: y(i + 1, j), r: sizes[i + 1] > 8 ? 5 : 8,
                                fill: color(n.data, amax || 1), stroke: "currentColor",
                                "stroke-width": 0.8, class: "mg-pg-neuron", tabindex: "0" }, g);
        var last = i === s.layers.length - 1;
        var text = (last ? "output" : "layer " + (i + 1) + " neuron " + j) + ": data " +
          n.data.toFixed(4) + ", grad " + n.grad.toFixed(4) + ", bias " + n.b.toFixed(4);
        svg("title", {}, c).textContent = text;
        c.addEventListener("mouseenter", show(text));
        c.addEventListener("click", show(text));
        c.addEventListener("focus", show(text));
      });
    });
  };

  function setUp() {
    var box = document.querySelector(".mg-playground");
    var start = document.querySelector(".mg-start[data-session]");
    if (!box || !start || box.getAttribute("data-ready")) return;
    box.setAttribute("data-ready", "");
    new Playground(box, new URL(start.getAttribute("data-session"), location.href).href);
  }

  setUp();  // run.js loads this script once the page is there
})();
