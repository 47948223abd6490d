"""`make bench`: run every benchmarks/bench_*.py in turn and summarize PASS/FAIL lines."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    only = sys.argv[1:]
    results = []
    for script in sorted(HERE.glob("bench_*.py")):
        if only and script.stem.removeprefix("bench_") not in only:
            continue
        print(f"\n=== {script.name} ===", flush=True)
        proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
        sys.stdout.write(proc.stdout)
        sys.stderr.write(proc.stderr[-3000:])
        verdicts = [ln for ln in proc.stdout.splitlines() if ln.startswith(("PASS", "FAIL"))]
        if proc.returncode != 0:
            verdicts.append(f"FAIL {script.name} exited {proc.returncode}")
        results += [(script.name, v) for v in verdicts]
    print("\n=== summary ===")
    for name, verdict in results:
        print(f"{name}: {verdict}")
    failed = sum(v.startswith("FAIL") for _, v in results)
    print(f"{len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
