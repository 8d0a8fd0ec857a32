"""`make bench`: each function's cold start against the floor of its kind (docs/design.md, "Cold start").

The floors (:mod:`infra.floors`) are minimal handlers with the features every Pollen function has:
Tracer, Logger and Metrics, a validating HTTP resolver with one pydantic route (HTTP) or a batch
processor (streams, queues, schedules), and one boto3 client. A function's cold start is the CPU
time of a fresh interpreter that starts and imports it, as Lambda's init does: each child prints
``time.process_time()`` right after the import, so the figure is interpreter start plus import, of
that process alone, and leaves out the exit (Lambda freezes the process, it never tears it down).

CPU time rather than wall time, and paired ratios rather than milliseconds, because the machine is
shared: a busy neighbour stretches wall time a lot and CPU time a little, and does so for both runs
of a pair alike. Each round imports every function and, right before or after it (alternating), its
floor; a function's figure is the median over rounds of its per-pair ratio. Children see the
packages the Lambda layer ships plus the runtime's boto3 (no development tools), with Lambda's
environment variables, so the Tracer patches what it patches in Lambda.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from infra.requirements import RUNTIME_PROVIDED
from infra.template import load_template

ROOT = Path(__file__).resolve().parents[1]
FLOORS = ROOT / "infra" / "floors"
LAYER = ROOT / "layers" / "pollen"
PAIRS = int(os.environ.get("COLD_START_PAIRS", "20"))
LIMIT = 1.10  # a function may cost at most this many times its floor
BARE = "import boto3; from aws_lambda_powertools import Logger, Metrics, Tracer"
# A floor makes its one boto3 client at init; Pollen makes its clients on first call, which a cold
# start pays all the same: the function's run makes its DynamoDB client too, so both do the same work.
FUNCTION = "import app\nfrom pollen.storage.client import dynamodb\ndynamodb()"
FLOOR_MODULES = {"http": "http_floor", "stream": "stream_floor"}
PARSED_STREAM_FLOOR = "stream_parsed_floor"  # informational: the stream floor with one pydantic model
# What the runtime brings besides the packages named in RUNTIME_PROVIDED (their own dependencies).
RUNTIME_EXTRA = ("python-dateutil", "urllib3", "six")


@dataclass(frozen=True)
class Target:
    """Something to import in a fresh interpreter: a function, a floor or the bare import."""

    name: str
    code: str  # the statement the child runs before printing its CPU time
    task_root: Path


@dataclass(frozen=True)
class Function:
    name: str  # functions/<name>/
    kind: str  # "http" or "stream" (any event source that is not an HTTP API)


@dataclass(frozen=True)
class Result:
    name: str
    kind: str
    floor_ms: float  # median CPU ms of the floor's runs
    function_ms: float  # median CPU ms of the function's runs
    ratio: float  # median of per-pair function/floor ratios
    bare_ratio: float  # median of per-round function/bare-import ratios

    @property
    def within(self) -> bool:
        return self.ratio <= LIMIT


def functions(template: Mapping[str, object] | None = None) -> list[Function]:
    """Every function of the template with the kind of floor it is held to."""
    template = template if template is not None else load_template(ROOT / "template.yaml")
    found = []
    resources = template.get("Resources") or {}
    assert isinstance(resources, Mapping)
    for resource in resources.values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource.get("Properties") or {}
        name = str(props["CodeUri"]).strip("/").rsplit("/", 1)[-1]
        events = (props.get("Events") or {}).values()
        kind = "http" if any(event.get("Type") == "HttpApi" for event in events) else "stream"
        found.append(Function(name, kind))
    return sorted(found, key=lambda f: f.name)


def summarise(
    function: Function,
    function_ms: Sequence[float],
    floor_ms: Sequence[float],
    bare_ms: Sequence[float],
) -> Result:
    """One function's figures from its paired runs (index i of each sequence is round i)."""
    if not function_ms or len(function_ms) != len(floor_ms) or len(function_ms) != len(bare_ms):
        raise ValueError("every round needs one function run, one floor run and one bare run")
    return Result(
        name=function.name,
        kind=function.kind,
        floor_ms=statistics.median(floor_ms),
        function_ms=statistics.median(function_ms),
        ratio=statistics.median(f / g for f, g in zip(function_ms, floor_ms, strict=True)),
        bare_ratio=statistics.median(f / b for f, b in zip(function_ms, bare_ms, strict=True)),
    )


Runner = Callable[[Target], float]


def measure(
    targets: Sequence[Function], run: Runner, *, pairs: int = PAIRS
) -> tuple[list[Result], dict[str, float]]:
    """Paired runs, ``pairs`` rounds; also each floor against the bare import (median ratio per kind).

    Within a round the function and its floor alternate which goes first, so a slow patch of the
    machine does not always land on the same side of a pair.
    """
    floors = {kind: Target(kind, f"import {module}", FLOORS) for kind, module in FLOOR_MODULES.items()}
    bare = Target("bare", BARE, FLOORS)
    runs: dict[str, list[float]] = {f.name: [] for f in targets}
    floor_runs: dict[str, list[float]] = {f.name: [] for f in targets}
    bare_runs: dict[str, list[float]] = {kind: [] for kind in floors}
    kind_floor_runs: dict[str, list[float]] = {kind: [] for kind in floors}
    for round_ in range(pairs):
        for kind, floor in floors.items():
            first, second = (bare, floor) if round_ % 2 == 0 else (floor, bare)
            ms = {first.name: run(first), second.name: run(second)}
            bare_runs[kind].append(ms["bare"])
            kind_floor_runs[kind].append(ms[kind])
        for function in targets:
            target = Target(function.name, FUNCTION, ROOT / "functions" / function.name)
            pair = (target, floors[function.kind])
            if round_ % 2:
                pair = pair[::-1]
            ms = {t.name: run(t) for t in pair}
            runs[function.name].append(ms[function.name])
            floor_runs[function.name].append(ms[function.kind])
    results = [summarise(f, runs[f.name], floor_runs[f.name], bare_runs[f.kind]) for f in targets]
    floor_vs_bare = {
        kind: statistics.median(f / b for f, b in zip(kind_floor_runs[kind], bare_runs[kind], strict=True))
        for kind in floors
    }
    return results, floor_vs_bare


def _distribution_paths(name: str) -> set[Path]:
    """The top-level files and directories one installed distribution put in site-packages."""
    dist = metadata.distribution(name)
    top: set[Path] = set()
    for file in dist.files or ():
        first = Path(file.parts[0])
        if first.name != "..":
            top.add(Path(str(dist.locate_file(first))))
    return top


def layer_requirements() -> list[str]:
    """The distributions layers/pollen/requirements.txt ships."""
    names = []
    for line in (LAYER / "requirements.txt").read_text().splitlines():
        if line and not line.startswith((" ", "#")) and "==" in line:
            names.append(line.split("==", 1)[0])
    return names


@contextmanager
def lambda_site() -> Iterator[Path]:
    """A directory holding (links to) what a function sees in Lambda: the layer's packages and the
    runtime's boto3, nothing else the development environment has installed."""
    with tempfile.TemporaryDirectory(prefix="pollen-cold-") as tmp:
        site = Path(tmp)
        for name in [*layer_requirements(), *RUNTIME_PROVIDED, *RUNTIME_EXTRA]:
            for path in _distribution_paths(name):
                link = site / path.name
                if path.exists() and not link.exists():
                    link.symlink_to(path)
        yield site


def child_runner(site: Path) -> Runner:
    """Runs a target in a fresh interpreter (no site-packages but ``site``), returns its CPU ms."""

    def run(target: Target) -> float:
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": os.pathsep.join([str(target.task_root), str(LAYER), str(site)]),
            "LAMBDA_TASK_ROOT": str(target.task_root),
            "AWS_LAMBDA_FUNCTION_NAME": f"pollen-{target.name}",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_NAME": "pollen",
            "POWERTOOLS_SERVICE_NAME": "pollen",
            "POWERTOOLS_METRICS_NAMESPACE": "Pollen",
            "POWERTOOLS_TRACER_CAPTURE_RESPONSE": "false",
        }
        code = f"import time\n{target.code}\nprint(time.process_time() * 1000)"
        out = subprocess.run(
            [sys.executable, "-S", "-c", code],
            capture_output=True,
            text=True,
            env=env,
            cwd=target.task_root,
            check=False,
        )
        if out.returncode:
            raise RuntimeError(f"importing {target.name} failed:\n{out.stderr[-2000:]}")
        return float(out.stdout.strip().splitlines()[-1])

    return run


def floor_gap(run: Runner, plain: Target, variant: Target, *, pairs: int = PAIRS) -> float:
    """What ``variant`` of a floor costs over the ``plain`` floor (median of alternating pairs)."""
    ratios = []
    for round_ in range(pairs):
        pair = (plain, variant) if round_ % 2 == 0 else (variant, plain)
        ms = {t.name: run(t) for t in pair}
        ratios.append(ms[variant.name] / ms[plain.name])
    return statistics.median(ratios)


def parsed_floor_gap(run: Runner, *, pairs: int = PAIRS) -> float:
    """How much a stream floor that validates its records with one pydantic model costs over the
    plain stream floor. Informational: the limit stays on the plain one."""
    plain = Target("stream", f"import {FLOOR_MODULES['stream']}", FLOORS)
    parsed = Target("stream-parsed", f"import {PARSED_STREAM_FLOOR}", FLOORS)
    return floor_gap(run, plain, parsed, pairs=pairs)


def without_collector(code: str) -> str:
    """``code`` run as Pollen's functions run their init: without the cyclic garbage collector, which
    is switched on again, and what init built frozen, once it is done (functions/*/app.py)."""
    return f"import gc\ngc.disable()\n{code}\ngc.enable()\ngc.freeze()"


def collector_gaps(run: Runner, kinds: Sequence[str], *, pairs: int = PAIRS) -> dict[str, float]:
    """Per kind: the floor initialising without the collector, as Pollen's functions do, against the
    plain floor. Informational: what of a ratio is that switch, which any handler could make."""
    gaps = {}
    for kind in kinds:
        code = f"import {FLOOR_MODULES[kind]}"
        plain, tuned = Target(kind, code, FLOORS), Target(f"{kind}-no-gc", without_collector(code), FLOORS)
        gaps[kind] = floor_gap(run, plain, tuned, pairs=pairs)
    return gaps


def report_parsed_gap(results: Sequence[Result], gap: float) -> None:
    streams = ", ".join(f"{r.name} {r.ratio / gap:.2f}" for r in results if r.kind == "stream")
    print(
        f"  A stream floor that also validates its records with one pydantic model costs {gap:.2f}x the "
        f"stream floor; against it the stream functions would be: {streams}"
    )


def report_collector_gaps(results: Sequence[Result], gaps: Mapping[str, float]) -> None:
    kinds = ", ".join(f"{kind} {gap:.2f}x" for kind, gap in gaps.items())
    like = ", ".join(f"{r.name} {r.ratio / gaps[r.kind]:.2f}" for r in results if r.kind in gaps)
    print(
        "  Pollen's functions initialise without the cyclic garbage collector (gc.disable() ... "
        f"gc.enable(); gc.freeze()). A floor doing the same costs {kinds} of the plain floor; like for "
        f"like, the functions are: {like}"
    )


def report(results: Sequence[Result], floor_vs_bare: Mapping[str, float], pairs: int) -> int:
    """Prints the table; returns how many functions exceed the limit."""
    print(
        f"\nCold start against the floor of the function's kind (child CPU ms, interpreter start + import; "
        f"median of {pairs} pairs, limit {LIMIT:.2f}x):"
    )
    print(f"  {'function':22} {'kind':6} {'floor ms':>9} {'fn ms':>8} {'ratio':>6} {'vs bare':>8}")
    over = 0
    for r in results:
        flag = "" if r.within else "  OVER THE FLOOR LIMIT"
        over += not r.within
        print(
            f"  {r.name:22} {r.kind:6} {r.floor_ms:9.0f} {r.function_ms:8.0f} "
            f"{r.ratio:6.2f} {r.bare_ratio:7.2f}x{flag}"
        )
    kinds = ", ".join(f"{kind} floor {ratio:.2f}x" for kind, ratio in floor_vs_bare.items())
    print(f"  The floors against the bare import (`{BARE}`): {kinds}")
    return over


def main(argv: Sequence[str] = ()) -> int:
    """Measures the functions named in ``argv`` (all when empty); 1 when one is over the limit."""
    wanted = set(argv)
    targets = [f for f in functions() if not wanted or f.name in wanted]
    with lambda_site() as site:
        run = child_runner(site)
        warm = [Target(f.name, FUNCTION, ROOT / "functions" / f.name) for f in targets]
        warm += [Target(kind, f"import {module}", FLOORS) for kind, module in FLOOR_MODULES.items()]
        warm.append(Target("stream-parsed", f"import {PARSED_STREAM_FLOOR}", FLOORS))
        for target in warm:
            run(target)  # compile and cache bytecode before anything is timed
        results, floor_vs_bare = measure(targets, run)
        gap = parsed_floor_gap(run) if any(r.kind == "stream" for r in results) else None
        gaps = collector_gaps(run, sorted({r.kind for r in results}))
    over = report(results, floor_vs_bare, PAIRS)
    if gap is not None:
        report_parsed_gap(results, gap)
    report_collector_gaps(results, gaps)
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
