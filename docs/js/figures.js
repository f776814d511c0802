// A graph taller than its box (.mg-figure, see book.css) opens scrolled so
// that its leftmost node is in view: a graph drawn from left to right starts
// there, while the top left corner of a big one is often empty.
document$.subscribe(function () {
  document.querySelectorAll(".mg-figure").forEach(function (box) {
    if (box.scrollHeight <= box.clientHeight) return;
    var first = null;
    box.querySelectorAll("g.node").forEach(function (node) {
      var r = node.getBoundingClientRect();
      if (!first || r.left < first.left) first = r;
    });
    if (first) {
      var top = first.top - box.getBoundingClientRect().top + box.scrollTop;
      box.scrollTop = top - (box.clientHeight - first.height) / 2;
    }
  });
});

// Copying a formula gives its TeX source (kept by the build as the formula's
// annotation), not the characters of the MathML layout.
document.addEventListener("copy", function (event) {
  var selection = document.getSelection();
  if (!selection || selection.rangeCount === 0) return;
  var node = selection.getRangeAt(0).commonAncestorContainer;
  var element = node.nodeType === 1 ? node : node.parentElement;
  var math = element && element.closest("math");
  var tex = math && math.querySelector('annotation[encoding="application/x-tex"]');
  if (!tex || !event.clipboardData) return;
  event.clipboardData.setData("text/plain", tex.textContent);
  event.preventDefault();
});

// A figure wider than its column gets a way to see it whole and in detail:
// Zoom to fit, Zoom out, Zoom in, Natural size, and a link that opens it full
// size on its own. The box scrolls (pan with a finger, a mouse or the
// arrows); with the box focused, + and - zoom, 0 fits and 1 is natural size.
window.mgFigureTools = function (box) {
  var svg = box.querySelector(":scope > svg");
  if (!svg || box.nextElementSibling && box.nextElementSibling.classList.contains("mg-zoom")) return;
  var natural = svg.getBoundingClientRect().width;
  if (!natural || natural <= box.clientWidth + 1) return;
  var ratio = svg.getBoundingClientRect().height / natural;
  var scale = 1;
  var set = function (s) {
    scale = Math.min(Math.max(s, 0.05), 4);
    svg.style.width = (natural * scale).toFixed(1) + "px";
    svg.style.height = (natural * scale * ratio).toFixed(1) + "px";
    box.setAttribute("data-zoom", scale.toFixed(3));
  };
  var fit = function () { set(box.clientWidth / natural); };
  var bar = document.createElement("div");
  bar.className = "mg-zoom";
  bar.setAttribute("role", "toolbar");
  bar.setAttribute("aria-label", "View of the figure");
  [["Fit", "Zoom to fit", fit], ["−", "Zoom out", function () { set(scale / 1.25); }],
   ["+", "Zoom in", function () { set(scale * 1.25); }],
   ["1:1", "1:1, natural size", function () { set(1); }]].forEach(function (b) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = b[0];
    button.setAttribute("aria-label", b[1]);
    button.title = b[1];
    button.addEventListener("click", b[2]);
    bar.appendChild(button);
  });
  var link = document.createElement("a");
  var source = new XMLSerializer().serializeToString(svg);
  link.href = URL.createObjectURL(new Blob([source], { type: "image/svg+xml" }));
  link.target = "_blank";
  link.rel = "noopener";
  link.textContent = "Open full size";
  bar.appendChild(link);
  box.after(bar);
  box.tabIndex = 0;
  box.setAttribute("aria-label", "Figure; + and - zoom, 0 fits it, arrows scroll");
  box.addEventListener("keydown", function (event) {
    var act = { "+": scale * 1.25, "=": scale * 1.25, "-": scale / 1.25, "1": 1 }[event.key];
    if (event.key === "0") fit();
    else if (act !== undefined) set(act);
    else return;
    event.preventDefault();
  });
};

document$.subscribe(function () {
  document.querySelectorAll(".mg-figure").forEach(function (box) { window.mgFigureTools(box); });
});
