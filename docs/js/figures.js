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
