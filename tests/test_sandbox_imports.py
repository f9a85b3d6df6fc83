"""The sandbox stands on ``octopus_nb._shared``, tornado, qrcode/Pillow and the standard library only.

So it runs (``python -m octopus_nb.sandbox``, or embedded) without the toolkit's requests, pandas
or ipywidgets. Checked twice: by running a flow in a fresh interpreter that loads the sandbox
without the parent package's ``__init__`` (whose toolkit imports are not the sandbox's doing), and
by reading every sandbox module's imports.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import octopus_nb.sandbox

SANDBOX_DIR = Path(octopus_nb.sandbox.__file__).resolve().parent
PACKAGE_DIR = SANDBOX_DIR.parent
FORBIDDEN = ("requests", "urllib3", "pandas", "ipywidgets")

#: Run in a fresh interpreter: a stub parent package, so only the sandbox and what it imports load.
_FLOW = """
import json, sys, types, urllib.request

package = types.ModuleType("octopus_nb")
package.__path__ = [PACKAGE_DIR]
sys.modules["octopus_nb"] = package
import octopus_nb.sandbox

with octopus_nb.sandbox.Sandbox(seed=7) as sandbox:
    headers = {"Authorization": "Bearer " + sandbox.secret_key, "Content-Type": "application/json"}

    def call(path, document=None):
        data = None if document is None else json.dumps(document).encode()
        request = urllib.request.Request(sandbox.base_url + path, data=data, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    settings = {"success_url": "https://example.com/ok", "failure_url": "https://example.com/ko"}
    setup = call("/payments/setups", {"amount": 1000, "currency": "HKD", "settings": settings})
    payment = call("/payments/setups/" + setup["id"] + "/confirm/octopus")
    with urllib.request.urlopen(payment["processing"]["landing_url"], timeout=10) as response:
        page = response.read().decode()
    status = payment["status"]
print(json.dumps({"status": status, "qr": 'id="qr"' in page, "modules": sorted(sys.modules)}))
"""


def test_a_running_sandbox_loads_nothing_heavy():
    code = _FLOW.replace("PACKAGE_DIR", repr(str(PACKAGE_DIR)))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["status"] == "Pending" and report["qr"]
    modules = report["modules"]
    loaded = [name for name in modules if name.split(".")[0] in FORBIDDEN]
    assert not loaded, f"the sandbox pulled in {loaded}"
    ours = [name for name in modules if name.startswith("octopus_nb.")]
    strays = [name for name in ours if not name.startswith(("octopus_nb.sandbox", "octopus_nb._shared"))]
    assert not strays, f"the sandbox imported toolkit modules: {strays}"


def _imported_from_package(path: Path) -> list[str]:
    """Every ``octopus_nb`` module a sandbox file imports, relative imports resolved."""
    # the package a relative import starts from (for __init__.py too: its folder)
    package = ["octopus_nb", *path.relative_to(PACKAGE_DIR).parent.parts]
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if node.module is None:  # from . import views: each name is a module
                names += [f"{module}.{alias.name}" for alias in node.names]
            else:
                names.append(module)
        elif isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
    return [name for name in names if name == "octopus_nb" or name.startswith("octopus_nb.")]


def test_sandbox_modules_import_only_the_shared_leaf():
    files = sorted(SANDBOX_DIR.rglob("*.py"))
    assert len(files) > 5
    for path in files:
        for module in _imported_from_package(path):
            allowed = module.startswith(("octopus_nb.sandbox", "octopus_nb._shared"))
            assert allowed, f"{path.relative_to(PACKAGE_DIR)} imports {module}"


#: Windows has no ``fcntl``: set to None in sys.modules, importing it fails there as it does on Windows.
_WITHOUT_FCNTL = """
import sys
sys.modules["fcntl"] = None
import octopus_nb
from octopus_nb.sandbox.store import SqliteStore, StateFileError
with octopus_nb.connect() as client:
    assert octopus_nb.get_payment_setup  # the toolkit and the in-memory sandbox load and serve
    print(client.base_url)
try:
    SqliteStore(sys.argv[1])
except StateFileError as exc:
    print(exc)
"""


def test_the_in_memory_sandbox_runs_without_posix_file_locks(tmp_path):
    """Only ``--state`` needs ``fcntl``; without it the rest runs and ``--state`` is refused in one line."""
    result = subprocess.run([sys.executable, "-c", _WITHOUT_FCNTL, str(tmp_path / "state.db")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    base_url, refusal = result.stdout.splitlines()
    assert base_url.startswith("http://127.0.0.1:")
    assert "needs POSIX file locks (fcntl)" in refusal and "WSL" in refusal
    assert not (tmp_path / "state.db").exists(), "refused before touching the file"
