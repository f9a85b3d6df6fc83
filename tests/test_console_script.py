"""``octopus-nb``, the console script: the commands of ``python -m octopus_nb``, and ``sandbox``; py.typed.

Run as installed (``pip install -e .`` puts it beside the venv's python): its help lists every command,
and ``octopus-nb sandbox`` is ``python -m octopus_nb.sandbox``, options and all.
"""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import requests

SCRIPT = Path(sys.executable).with_name("octopus-nb")
KEY = "sk_sbox_" + "scripttest" * 2 + "abcdef" + "#"


def test_the_entry_point_is_the_module_main():
    (entry,) = [entry for entry in metadata.entry_points(group="console_scripts") if entry.name == "octopus-nb"]
    from octopus_nb.__main__ import main

    assert entry.load() is main
    assert SCRIPT.exists(), f"{SCRIPT} missing: run make (pip install --no-deps -e .)"


def test_its_help_lists_the_commands_of_python_m_octopus_nb():
    script = subprocess.run([SCRIPT, "--help"], capture_output=True, text=True, timeout=60)
    module = subprocess.run([sys.executable, "-m", "octopus_nb", "--help"], capture_output=True, text=True, timeout=60)
    assert script.returncode == module.returncode == 0, script.stderr + module.stderr
    assert script.stdout == module.stdout
    for command in ("demo", "conformance", "sandbox"):
        assert command in script.stdout


def test_sandbox_serves_as_python_m_octopus_nb_sandbox_does():
    help_text = subprocess.run([SCRIPT, "sandbox", "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "--confirm-response" in help_text and "--state" in help_text, help_text
    process = subprocess.Popen(
        [SCRIPT, "sandbox", "--port", "0", "--seed", "7", "--secret-key", KEY], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:"), process.stderr.read()
        setup = {
            "amount": 1000,
            "currency": "HKD",
            "settings": {"success_url": "https://example.com/payments/success", "failure_url": "https://example.com/payments/failure"},
        }
        response = requests.post(base_url + "/payments/setups", json=setup, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)
        assert response.ok and response.json()["payment_methods"]["octopus"]["status"] == "ready", response.text
    finally:
        process.terminate()
    assert process.wait(timeout=10) == 0


def test_a_bad_sandbox_option_exits_2_like_the_module():
    result = subprocess.run([SCRIPT, "sandbox", "--port", "not-a-port"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "--port" in result.stderr


def test_the_package_ships_py_typed():
    """PEP 561: users' type checkers read octopus_nb's annotations only if py.typed is in the wheel."""
    import tomllib

    import octopus_nb

    root = Path(__file__).resolve().parent.parent
    package_data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "py.typed" in package_data["octopus_nb"]
    assert (Path(octopus_nb.__file__).parent / "py.typed").is_file()
