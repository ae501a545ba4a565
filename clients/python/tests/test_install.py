"""pip install of the package, offline, on Debian's python3 with its
python3-zmq and python3-msgpack: into a venv that sees the system's
packages, with --no-index so that nothing can be downloaded. The installed
package then talks to the real broker from a fresh interpreter."""
import os
import shutil
import subprocess
import sys

import pytest

import harness

PKG = os.path.abspath(os.path.join(harness.HERE, ".."))


def test_pip_install_offline_and_use(tmp_path, endpoint):
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
        "tests", "build", "*.egg-info", "__pycache__"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages",
                    "--without-pip", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    r = subprocess.run([py, "-m", "pip", "install", "--no-index",
                        "--no-build-isolation", str(src)],
                       capture_output=True, text=True)
    if r.returncode != 0 and "No module named pip" in r.stderr:
        pytest.skip("this python has no pip module (Debian: python3-pip)")
    assert r.returncode == 0, r.stdout + r.stderr
    code = ("import actors, sys\n"
            "assert actors.__file__.startswith(sys.prefix), actors.__file__\n"
            "with actors.Client(sys.argv[1], timeout=10) as c:\n"
            "    print(c.call('py/chaos', 'echo', 'installed').result())\n")
    r = subprocess.run([py, "-c", code, endpoint], capture_output=True,
                       text=True, cwd=str(tmp_path),
                       env=dict(os.environ, PYTHONPATH=""))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "installed"
