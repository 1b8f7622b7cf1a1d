"""The long fuzz run (issue 13 item 3): the generators of ``tests/test_fuzz.py`` for many cases.

Every case goes through validate -> analytical reliability -> Monte Carlo -> capacity -> connection
evaluation (:func:`test_fuzz.run_pipeline`). Prints how many cases gave a clean result at every stage, how
many were refused by which :class:`~gridscope.errors.GridscopeError` at which stage, and every other
exception (a property violation or a crash) with its first repro: the case's recipe and its network saved as
pandapower JSON.

    python benchmarks/fuzz_long.py                      # 10,000 cases
    python benchmarks/fuzz_long.py --cases 1000 --seed 2 --repro-dir /tmp/fuzz-repro
    python benchmarks/fuzz_long.py --time-limit 3600       # as many of the 10,000 as an hour allows

Reproducible: the same ``--seed`` and ``--cases`` give the same cases.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


class _Stop(BaseException):
    """Raised inside the hypothesis loop to end the run at ``--time-limit`` (not an Exception: hypothesis
    lets it through instead of recording a failing case)."""


def _where(exc: BaseException) -> str:
    """``file:line`` of the innermost gridscope frame (or the innermost frame) of ``exc``."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "site-packages" not in f.filename and "test_fuzz" not in f.filename]
    last = frames[-1] if frames else None
    inner = ours[-1] if ours else last
    text = f"{Path(inner.filename).name}:{inner.lineno}" if inner else "?"
    if last is not None and inner is not last:
        text += f" -> {Path(last.filename).name}:{last.lineno}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="number of cases (default 10,000)")
    parser.add_argument("--seed", type=int, default=1, help="hypothesis seed (default 1)")
    parser.add_argument("--mc-years", type=int, default=100, help="Monte-Carlo years per case (default 100)")
    parser.add_argument("--repro-dir", type=Path, default=Path("fuzz-repro"),
                        help="where the first repro of each other exception is saved (default ./fuzz-repro)")
    parser.add_argument("--report-every", type=int, default=500, help="progress line every N cases")
    parser.add_argument("--time-limit", type=float, default=None, metavar="S",
                        help="stop after S seconds and report the cases done so far")
    args = parser.parse_args(argv)

    from hypothesis import HealthCheck, Phase, given, seed, settings
    from test_fuzz import STAGES, cases, run_pipeline

    tally: collections.Counter[str] = collections.Counter()
    refused: collections.Counter[tuple[str, str]] = collections.Counter()
    other: dict[str, list[Any]] = {}
    t0 = time.perf_counter()
    done = [0]

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))
    @given(case=cases())
    def one(case: Any) -> None:
        if args.time_limit is not None and time.perf_counter() - t0 > args.time_limit:
            raise _Stop
        done[0] += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = run_pipeline(case, mc_years=args.mc_years)
        except Exception as exc:  # a property violation or a crash: what the run is looking for
            key = f"{type(exc).__name__} at {_where(exc)}"
            if key not in other:
                args.repro_dir.mkdir(parents=True, exist_ok=True)
                path = args.repro_dir / f"repro_{len(other) + 1}.json"
                try:
                    import pandapower as pp

                    pp.to_json(case.net, str(path))
                except Exception as save_exc:  # a net too broken to serialise: keep the recipe only
                    path = Path(f"(not saved: {type(save_exc).__name__})")
                other[key] = [0, case.describe(), str(path), f"{type(exc).__name__}: {str(exc)[:300]}"]
            other[key][0] += 1
            tally["other exception"] += 1
        else:
            tally["clean" if out.clean else "refused (GridscopeError)"] += 1
            for stage in STAGES:
                kind = out.stages.get(stage, "ok")
                if kind not in ("ok", "problems"):
                    refused[(stage, kind)] += 1
                elif kind == "problems":
                    refused[(stage, "problems listed")] += 1
        if done[0] % args.report_every == 0:
            rate = done[0] / (time.perf_counter() - t0)
            print(f"  {done[0]:>6} cases, {rate:.1f}/s: {dict(tally)}", flush=True)

    try:
        one()
    except (_Stop, KeyboardInterrupt):
        print(f"stopped after {done[0]} cases (time limit or Ctrl+C)")
    elapsed = time.perf_counter() - t0
    n = sum(tally.values())
    print(f"\n{n} cases in {elapsed:.0f} s ({n / elapsed:.1f} cases/s), seed {args.seed}, "
          f"{args.mc_years} Monte-Carlo years each")
    for k in ("clean", "refused (GridscopeError)", "other exception"):
        print(f"  {k:<26} {tally.get(k, 0):>6}")
    print("\nper stage (a case counts once per stage that did not give a clean result):")
    for (stage, kind), count in sorted(refused.items(), key=lambda kv: (STAGES.index(kv[0][0]), -kv[1])):
        print(f"  {stage:<12} {kind:<20} {count:>6}")
    if other:
        print("\nother exceptions (first repro of each):")
        for key, (count, recipe, path, msg) in sorted(other.items(), key=lambda kv: -kv[1][0]):
            print(f"  {count:>5} x {key}\n        {msg}\n        case: {recipe}\n        net: {path}")
    else:
        print("\nother exceptions: none")
    return 1 if other else 0


if __name__ == "__main__":
    raise SystemExit(main())
