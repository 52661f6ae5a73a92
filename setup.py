"""setup.py: the Python module softlab, its extension built by this repository's CMake.

build_ext configures a Release build of the library with the Python module only (no tests,
tools or benchmarks) in the build_temp directory and builds the target softlab_python; with
SOFTLAB_BUILD_DIR naming an already configured build directory (scripts/test's dev build), it
builds the target there instead, so nothing is compiled again. SOFTLAB_CMAKE_ARGS adds
configure arguments (e.g. -DSOFTLAB_PEERS=OFF for a faster build without the peers).
"""

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        given = os.environ.get("SOFTLAB_BUILD_DIR")
        if given and (Path(given) / "CMakeCache.txt").is_file():
            build_dir = Path(given).resolve()
        else:
            build_dir = Path(self.build_temp).resolve() / "cmake"
            subprocess.run(
                ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-G", "Ninja",
                 "-DCMAKE_BUILD_TYPE=Release", "-DSOFTLAB_BUILD_PYTHON=ON",
                 "-DSOFTLAB_BUILD_TESTS=OFF", "-DSOFTLAB_BUILD_BENCHMARKS=OFF",
                 "-DSOFTLAB_BUILD_TOOLS=OFF", "-DSOFTLAB_INSTALL=OFF",
                 f"-DPython3_EXECUTABLE={sys.executable}"]
                + shlex.split(os.environ.get("SOFTLAB_CMAKE_ARGS", "")),
                check=True)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "softlab_python",
                        "-j", os.environ.get("SOFTLAB_BUILD_JOBS", "2")], check=True)
        built = sorted((build_dir / "python" / "softlab").glob("_softlab*.so"))
        if not built:
            raise RuntimeError(f"the build in {build_dir} made no python/softlab/_softlab*.so")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


setup(
    packages=["softlab"],
    package_dir={"": "python"},
    ext_modules=[Extension("softlab._softlab", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
)
