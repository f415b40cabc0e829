"""`make mutation`: cosmic-ray over core/ and the adapters' critical modules.

Every module of ``modules.toml`` is mutated in a scratch copy of the project (cosmic-ray
rewrites the file it mutates in place; the worktree is never touched), each mutant runs the
module's own tests (``-x``, a per-mutant timeout), and the kill rate is printed per file and
per group, with the survivors. Mutants listed in ``equivalent.toml`` (each with its reason)
are set aside: they cannot change behaviour, so no test can kill them.

    python -m tooling.mutation.run [--sample N --seed S] [--module PATH ...] [--coverage]

The driver uses only the standard library: cosmic-ray itself runs from its own venv
(``--cosmic-ray``, ``.venv-mutation/bin/cosmic-ray`` by default), the tests from this one.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
TARGETS = {"core": 90.0, "adapters": 85.0}
COVERAGE_TARGET = 95.0
# The fast tiers core/'s line coverage is measured on.
FAST_TIERS = ["tests/unit", "tests/handlers", "contract_tests", "-k", "not dynamodb and not redis"]
_SKIP_COPY = {".git", "reports", ".cache", "node_modules", "build"}


@dataclass(frozen=True, slots=True)
class Module:
    path: str
    group: str
    tests: list[str]


@dataclass(frozen=True, slots=True)
class Equivalent:
    path: str
    operator: str
    line: str  # the mutated source line, stripped (line numbers move; the text rarely does)
    reason: str


@dataclass(slots=True)
class Tally:
    killed: int = 0
    survived: int = 0
    incompetent: int = 0
    equivalent: int = 0
    survivors: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float | None:
        judged = self.killed + self.survived
        return None if judged == 0 else 100.0 * self.killed / judged


def load_modules(path: Path = HERE / "modules.toml") -> list[Module]:
    data = tomllib.loads(path.read_text())
    default = data["defaults"]["core"]
    return [Module(m["path"], m["group"], list(m.get("tests", default))) for m in data["module"]]


def load_equivalents(path: Path = HERE / "equivalent.toml") -> list[Equivalent]:
    data = tomllib.loads(path.read_text())
    out = []
    for e in data.get("mutant", []):
        if not e.get("reason", "").strip():
            raise SystemExit(f"equivalent.toml: {e} has no reason")
        out.append(Equivalent(e["path"], e["operator"], e["line"].strip(), e["reason"]))
    return out


def scratch_copy(dest: Path) -> Path:
    """The project as cosmic-ray may rewrite it: sources and tests, no venvs or caches;
    ``.cache`` (DynamoDB Local's jar) is linked, not copied."""
    if dest.exists():
        shutil.rmtree(dest)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skip = {n for n in names if n in _SKIP_COPY or n.startswith(".venv")}
        skip |= {n for n in names if n in {"__pycache__", ".hypothesis"} or n.endswith("_cache")}
        return skip

    shutil.copytree(ROOT, dest, ignore=ignore, symlinks=True)
    if (ROOT / ".cache").exists():
        (dest / ".cache").symlink_to(ROOT / ".cache")
    return dest


def test_command(python: str, tests: list[str]) -> list[str]:
    return [python, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "--no-header", *tests]


def _quote(args: list[str]) -> str:
    import shlex

    return " ".join(shlex.quote(a) for a in args)


def write_config(config: Path, module: Module, python: str, timeout: float) -> None:
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module.path)}\n"
        f"timeout = {timeout}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(_quote(test_command(python, module.tests)))}\n"
        '\n[cosmic-ray.distributor]\nname = "local"\n'
    )


def init_session(cosmic_ray: str, tree: Path, module: Module, python: str, timeout: float) -> Path:
    name = module.path.replace("/", "_").removesuffix(".py")
    config = tree / f"mutation-{name}.toml"
    write_config(config, module, python, timeout)
    session = tree / f"mutation-{name}.sqlite"
    subprocess.run(
        [cosmic_ray, "init", str(config), str(session)],
        cwd=tree,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return session


@dataclass(frozen=True, slots=True)
class Job:
    session: Path
    job_id: str
    path: str
    operator: str
    line_no: int
    line: str
    start: tuple[int, int] = (0, 0)  # (line, column) of the mutated node


def jobs_of(session: Path, tree: Path) -> list[Job]:
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT job_id, module_path, operator_name, start_pos_row, start_pos_col"
            " FROM mutation_specs"
            " ORDER BY module_path, start_pos_row, operator_name, occurrence"
        ).fetchall()
    lines: dict[str, list[str]] = {}
    out = []
    for job_id, path, operator, row, col in rows:
        text = lines.setdefault(path, (tree / path).read_text().splitlines())
        out.append(Job(session, job_id, path, operator, row, text[row - 1].strip(), (row, col)))
    return out


def skip(jobs: list[Job]) -> None:
    """Marks jobs done without running them (cosmic-ray's own SKIPPED outcome)."""
    for session in {j.session for j in jobs}:
        ids = [(j.job_id,) for j in jobs if j.session == session]
        with sqlite3.connect(session) as db:
            db.executemany(
                "INSERT OR REPLACE INTO work_results (worker_outcome, job_id)"
                " VALUES ('SKIPPED', ?)",
                ids,
            )


def inert_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Where a module's mutants cannot change behaviour ((line, col) start and end): its type
    annotations (every module mutated starts with ``from __future__ import annotations``:
    they are strings never evaluated, PEP 563, so ``int | None`` -> ``int + None`` is the
    same program) and its dataclasses' ``slots=`` flags (memory layout only)."""
    if "from __future__ import annotations" not in source:
        return []
    spans = []
    for node in ast.walk(ast.parse(source)):
        found: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            found.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            found.append(node.annotation)
        if isinstance(node, ast.keyword) and node.arg == "slots":
            # @dataclass(slots=...): memory layout only; no behaviour reads __slots__.
            found.append(node.value)
        for ann in found:
            if ann is not None and ann.end_lineno is not None and ann.end_col_offset is not None:
                spans.append(((ann.lineno, ann.col_offset), (ann.end_lineno, ann.end_col_offset)))
    return spans


def in_inert_span(
    job: Job, spans: dict[str, list[tuple[tuple[int, int], tuple[int, int]]]]
) -> bool:
    return any(start <= job.start <= end for start, end in spans.get(job.path, []))


def is_equivalent(job: Job, equivalents: list[Equivalent]) -> bool:
    return any(
        e.path == job.path and e.operator == job.operator and e.line == job.line
        for e in equivalents
    )


def baseline(python: str, tree: Path, module: Module) -> float | None:
    """Runs the module's tests unmutated, twice at most; None when they fail both times
    (the module is then left out: every mutant of it would look killed)."""
    for _ in range(2):
        started = time.monotonic()
        proc = subprocess.run(
            test_command(python, module.tests), cwd=tree, capture_output=True, text=True
        )
        if proc.returncode == 0:
            return time.monotonic() - started
        failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED")]
        print(
            f"baseline: the tests of {module.path} fail unmutated: {failed or proc.stdout[-500:]}"
        )
    return None


def results_of(session: Path) -> dict[str, tuple[str, str | None, str | None]]:
    with sqlite3.connect(session) as db:
        rows = db.execute(
            "SELECT job_id, worker_outcome, test_outcome, diff FROM work_results"
        ).fetchall()
    return {job_id: (worker, test, diff) for job_id, worker, test, diff in rows}


def tally(jobs: list[Job], equivalent: set[str], sampled: set[str]) -> dict[str, Tally]:
    per_file: dict[str, Tally] = {}
    results: dict[Path, dict[str, tuple[str, str | None, str | None]]] = {}
    for job in jobs:
        if job.job_id not in sampled:
            continue
        t = per_file.setdefault(job.path, Tally())
        if job.job_id in equivalent:
            t.equivalent += 1
            continue
        res = results.setdefault(job.session, results_of(job.session)).get(job.job_id)
        outcome = res[1] if res else None
        if outcome == "KILLED":
            t.killed += 1
        elif outcome == "SURVIVED":
            t.survived += 1
            t.survivors.append(f"{job.path}:{job.line_no} {job.operator}  | {job.line}")
        else:
            t.incompetent += 1
    return per_file


def coverage_of_core(python: str) -> float | None:
    """core/'s line coverage under the fast tiers (coverage.py, in the project's venv)."""
    data = ROOT / "reports" / "mutation" / ".coverage"
    data.parent.mkdir(parents=True, exist_ok=True)
    env_args = [python, "-m", "coverage"]
    run = subprocess.run(
        [
            *env_args,
            "run",
            f"--data-file={data}",
            "--source=core",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            *FAST_TIERS,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if run.returncode != 0:
        print(run.stdout[-2000:])
        print("coverage: the fast tiers failed")
        return None
    report = subprocess.run(
        [*env_args, "report", f"--data-file={data}", "--format=total", "--precision=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(report.stdout.strip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=0, help="mutants drawn at random (0: all)")
    parser.add_argument("--seed", type=int, default=18)
    parser.add_argument("--module", action="append", help="only these paths of modules.toml")
    parser.add_argument("--group", choices=sorted(TARGETS), help="only this group's modules")
    parser.add_argument("--timeout", type=float, default=0, help="per mutant, s (0: 3×baseline+10)")
    parser.add_argument("--cosmic-ray", default=str(ROOT / ".venv-mutation/bin/cosmic-ray"))
    parser.add_argument("--python", default=sys.executable, help="the tests' interpreter")
    parser.add_argument("--work", default=str(ROOT / "reports/mutation"))
    parser.add_argument("--coverage", action="store_true", help="also core/'s line coverage")
    args = parser.parse_args(argv)

    modules = load_modules()
    if args.module:
        unknown = set(args.module) - {m.path for m in modules}
        if unknown:
            raise SystemExit(f"not in modules.toml: {sorted(unknown)}")
        modules = [m for m in modules if m.path in args.module]
    if args.group:
        modules = [m for m in modules if m.group == args.group]
    equivalents = load_equivalents()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    tree = scratch_copy(work / "tree")

    started = time.monotonic()
    sessions: list[tuple[Module, Path]] = []
    all_jobs: list[Job] = []
    for module in modules:
        session = init_session(args.cosmic_ray, tree, module, args.python, timeout=60.0)
        sessions.append((module, session))
        all_jobs.extend(jobs_of(session, tree))

    spans = {m.path: inert_spans((tree / m.path).read_text()) for m in modules}
    equivalent = {
        j.job_id for j in all_jobs if is_equivalent(j, equivalents) or in_inert_span(j, spans)
    }
    candidates = [j.job_id for j in all_jobs]
    if args.sample and args.sample < len(candidates):
        sampled = set(random.Random(args.seed).sample(candidates, args.sample))
    else:
        sampled = set(candidates)
    skip([j for j in all_jobs if j.job_id not in sampled or j.job_id in equivalent])
    runs = {j.session for j in all_jobs if j.job_id in sampled - equivalent}
    sessions = [(m, s) for m, s in sessions if s in runs]
    print(
        f"{len(all_jobs)} mutants in {len(modules)} modules; running {len(sampled - equivalent)}"
        f" in {len(sessions)} modules",
        flush=True,
    )
    baselines: dict[tuple[str, ...], float | None] = {}
    left_out: list[str] = []
    for module, session in list(sessions):
        key = tuple(module.tests)
        if key not in baselines:
            baselines[key] = baseline(args.python, tree, module)
        took = baselines[key]
        if took is None:
            left_out.append(module.path)
            sessions.remove((module, session))
            continue
        timeout = args.timeout or round(3 * took + 10, 1)
        print(f"{module.path}: tests pass unmutated in {took:.1f}s; timeout {timeout}s", flush=True)
        write_config(session.with_suffix(".toml"), module, args.python, timeout)

    for module, session in sessions:
        config = session.with_suffix(".toml")
        subprocess.run(
            [args.cosmic_ray, "exec", str(config), str(session)],
            cwd=tree,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        print(f"  {module.path} done ({time.monotonic() - started:.0f}s)", flush=True)

    ran = {s for _, s in sessions}
    per_file = tally([j for j in all_jobs if j.session in ran], equivalent, sampled)
    groups = {m.path: m.group for m in modules}
    report = print_report(per_file, groups)
    report.update(
        sample=args.sample,
        seed=args.seed,
        seconds=round(time.monotonic() - started),
        command=" ".join(["python -m tooling.mutation.run", *(argv or sys.argv[1:])]),
        left_out=left_out,
    )
    if left_out:
        print(f"left out (their tests fail unmutated): {', '.join(left_out)}")
    if args.coverage:
        cov = coverage_of_core(args.python)
        report["core_line_coverage"] = cov
        if cov is not None:
            mark = "ok" if cov >= COVERAGE_TARGET else "below target"
            print(
                f"line coverage of core/ (fast tiers): {cov:.1f}% "
                f"(target {COVERAGE_TARGET:.0f}%: {mark})"
            )
    (work / "report.json").write_text(json.dumps(report, indent=2))
    print(f"report: {work / 'report.json'}")
    return 1 if left_out else 0


def print_report(per_file: dict[str, Tally], groups: dict[str, str]) -> dict[str, object]:
    group_tally: dict[str, Tally] = {}
    files: dict[str, object] = {}
    print(f"\n{'file':44} {'killed':>6} {'surv':>5} {'equiv':>5} {'incomp':>6} {'rate':>6}")
    for path in sorted(per_file):
        t = per_file[path]
        group = next((g for p, g in groups.items() if path == p or path.startswith(p)), "core")
        g = group_tally.setdefault(group, Tally())
        g.killed += t.killed
        g.survived += t.survived
        g.equivalent += t.equivalent
        g.incompetent += t.incompetent
        g.survivors += t.survivors
        rate = "-" if t.rate is None else f"{t.rate:.0f}%"
        print(f"{path:44} {t.killed:6} {t.survived:5} {t.equivalent:5} {t.incompetent:6} {rate:>6}")
        files[path] = {
            "killed": t.killed,
            "survived": t.survived,
            "equivalent": t.equivalent,
            "incompetent": t.incompetent,
            "rate": t.rate,
            "survivors": t.survivors,
        }
    summary: dict[str, object] = {}
    for group, g in sorted(group_tally.items()):
        rate = g.rate
        target = TARGETS.get(group, 0.0)
        mark = "-" if rate is None else ("ok" if rate >= target else "below target")
        shown = "-" if rate is None else f"{rate:.1f}%"
        print(
            f"{group}/: {g.killed} killed of {g.killed + g.survived} non-equivalent "
            f"({g.equivalent} equivalent set aside): {shown} (target {target:.0f}%: {mark})"
        )
        summary[group] = {
            "killed": g.killed,
            "survived": g.survived,
            "rate": rate,
            "equivalent": g.equivalent,
            "target": target,
        }
    survivors = [s for t in per_file.values() for s in t.survivors]
    if survivors:
        print(f"\nsurvivors ({len(survivors)}):")
        for s in survivors:
            print(f"  {s}")
    return {"files": files, "groups": summary}


if __name__ == "__main__":
    raise SystemExit(main())
