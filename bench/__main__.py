"""``python -m bench [NAME ...]``: run every benchmark of bench/, or the ones named.

Each runs in a process of its own (its own Django setup, its own scratch database); the exit status is
non-zero when any of them failed.
"""

import subprocess
import sys

from . import PROJECT_DIR, benchmark_names


def main(argv: list[str]) -> int:
    available = benchmark_names()
    if any(arg in ("-h", "--help") for arg in argv):
        print(__doc__.strip())
        print("\nBenchmarks: " + ", ".join(available))
        return 0
    names = [name.removeprefix("bench.").removesuffix(".py") for name in argv] or available
    unknown = [name for name in names if name not in available]
    if unknown:
        print(f"Unknown benchmark(s): {', '.join(unknown)}. Available: {', '.join(available)}", file=sys.stderr)
        return 2
    failed = []
    for name in names:
        print(f"\n##### bench.{name}", flush=True)
        code = f"import importlib; importlib.import_module('bench.{name}').main()"
        if subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nFailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
