"""The in-page runtime's files (and the site's fonts), put into the site at build.

A reader who presses Run gets a Python interpreter in the browser (Pyodide,
CPython compiled to WebAssembly) and Graphviz in WebAssembly (@viz-js/viz),
both from the npm packages pinned by package.json / package-lock.json and
installed by ``npm ci`` into node_modules/. Nothing comes from another host.

This module copies the runtime files the page needs into ``site/runtime/``
and packs two pure-Python wheels, which the page installs with Pyodide's
``loadPackage(url)``:

* ``micrograd_book``: the generated ``micrograd`` package and ``tools/cell.py``
  (how a block runs and is shown: the very code the build uses);
* ``graphviz``: the Graphviz Python package the build uses (it is pure
  Python), packed again from its installed files.

Each file's path holds a hash of its bytes (wheels) or its package version
(Pyodide, viz), so a browser may keep it for good: a new site means new paths.
``runtime_urls`` says where everything is, for the chapters' session files.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.metadata
import io
import json
import shutil
import zipfile
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
NODE_MODULES = TOOLS.parent / "node_modules"
# The files of the npm packages that the page loads; nothing else is copied.
PYODIDE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm",
                 "python_stdlib.zip", "pyodide-lock.json")
VIZ_FILE = "dist/viz.js"


class RuntimeMissing(Exception):
    """node_modules/ lacks a runtime package: ``npm ci`` has not run."""


def _package(name: str) -> tuple[Path, str]:
    folder = NODE_MODULES / name
    try:
        version = json.loads((folder / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        raise RuntimeMissing(
            f"the in-page runtime needs the npm package {name}, missing from {folder}; "
            "run `make setup` (it runs `npm ci`), or `npm ci` in the book's folder"
        ) from None
    return folder, version


def _wheel(name: str, version: str, files: dict[str, bytes]) -> tuple[str, bytes]:
    """A wheel (file name, bytes) holding ``files``; the same files give the same bytes."""
    info = f"{name}-{version}.dist-info"
    files = dict(files)
    files[f"{info}/METADATA"] = (
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode())
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: micrograd-book\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    record = []
    for path in sorted(files):
        digest = base64.urlsafe_b64encode(hashlib.sha256(files[path]).digest()).rstrip(b"=")
        record.append(f"{path},sha256={digest.decode()},{len(files[path])}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path in sorted(files):
            entry = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, files[path], zipfile.ZIP_DEFLATED)
    return f"{name}-{version}-py3-none-any.whl", buf.getvalue()


def book_wheel(root: Path) -> tuple[str, bytes]:
    """The book's package as it stands in ``root``/micrograd, with tools/cell.py."""
    package = sorted((root / "micrograd").glob("*.py"))
    files = {f"micrograd/{p.name}": p.read_bytes() for p in package}
    files["tools/cell.py"] = (TOOLS / "cell.py").read_bytes()
    return _wheel("micrograd_book", "0.0.0", files)


def graphviz_wheel() -> tuple[str, bytes]:
    """The installed Graphviz Python package, packed as a wheel again."""
    dist = importlib.metadata.distribution("graphviz")
    files = {
        str(f): f.locate().read_bytes()
        for f in dist.files or []
        if f.parts[0] == "graphviz" and f.suffix == ".py"
    }
    if "graphviz/__init__.py" not in files:
        raise RuntimeMissing("the graphviz Python package is not installed; run `make setup`")
    return _wheel("graphviz", dist.version, files)


def write_runtime(root: Path, site_dir: Path) -> dict:
    """Put the runtime into ``site_dir``/runtime; return its URLs (from the site root)."""
    pyodide, pyodide_version = _package("pyodide")
    viz, viz_version = _package("@viz-js/viz")
    out = Path(site_dir) / "runtime"
    urls = {"pyodide": f"runtime/pyodide-{pyodide_version}/",
            "viz": f"runtime/viz-{viz_version}/viz.js", "wheels": []}
    for name in PYODIDE_FILES:
        _copy(pyodide / name, Path(site_dir) / urls["pyodide"] / name)
    _copy(viz / VIZ_FILE, Path(site_dir) / urls["viz"])
    for name, data in (book_wheel(Path(root)), graphviz_wheel()):
        url = f"runtime/wheels/{hashlib.sha256(data).hexdigest()[:16]}/{name}"
        (Path(site_dir) / url).parent.mkdir(parents=True, exist_ok=True)
        (Path(site_dir) / url).write_bytes(data)
        urls["wheels"].append(url)
    (out / "runtime.json").write_text(json.dumps(urls, indent=1) + "\n")
    return urls


# npm package, its file, the name in site/fonts/ (where docs/css/book.css points)
FONTS = [
    # formulas: the whole font, its OpenType MATH table included
    ("@fontsource/stix-two-math", "files/stix-two-math-latin-400-normal.woff",
     "stix-two-math.woff"),
    # graphs drawn in the page: Graphviz in WebAssembly sizes labels for Times,
    # and Tinos has Times's metrics, so labels fit their boxes on any system
    ("@fontsource/tinos", "files/tinos-latin-400-normal.woff", "tinos.woff"),
]


def write_fonts(site_dir: Path) -> None:
    """Put the site's own fonts into ``site_dir``/fonts."""
    for package, file, name in FONTS:
        folder, _ = _package(package)
        _copy(folder / file, Path(site_dir) / "fonts" / name)


def _copy(source: Path, dest: Path) -> None:
    if not source.is_file():
        raise RuntimeMissing(f"{source} is missing; run `npm ci` in the book's folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.is_file() and dest.stat().st_size == source.stat().st_size \
            and dest.stat().st_mtime >= source.stat().st_mtime:
        return
    shutil.copyfile(source, dest)
