"""The README's install, as a test: a virtual environment that sees Debian's packages, pip from
the clone (no network, no build isolation), reusing a configured build (SOFTLAB_BUILD_DIR: no
compiling), then the README's one-liner in that environment.

Run by CTest (label install): venv_install.py --source DIR --build DIR --venv DIR.
"""

import argparse
import os
import shutil
import subprocess
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", required=True)
    parser.add_argument("--build", required=True)
    parser.add_argument("--venv", required=True)
    args = parser.parse_args()
    shutil.rmtree(args.venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", args.venv], check=True)
    python = os.path.join(args.venv, "bin", "python")
    env = dict(os.environ, SOFTLAB_BUILD_DIR=args.build, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    # pip builds in the source tree; its setuptools build directory goes to the venv.
    subprocess.run([os.path.join(args.venv, "bin", "pip"), "install", "--no-build-isolation",
                    "--no-index", "--quiet", args.source], check=True, env=env,
                   cwd=args.source)
    one_liner = "import softlab; print(softlab.softmax([1.0, float('-inf'), 2.0]))"
    run = subprocess.run([python, "-c", one_liner], check=True, env=env, capture_output=True,
                         text=True, cwd=args.venv)
    print(run.stdout, end="")
    if run.stdout.strip() != "[0.26894142 0.         0.73105858]":
        sys.exit(f"unexpected output: {run.stdout!r}")
    where = subprocess.run([python, "-c", "import softlab; print(softlab.__file__)"], check=True,
                           env=env, capture_output=True, text=True, cwd=args.venv).stdout
    if not where.startswith(os.path.abspath(args.venv)):
        sys.exit(f"softlab was imported from {where!r}, not from the venv")


if __name__ == "__main__":
    main()
