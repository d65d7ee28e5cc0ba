"""Running a sweep: every run of a spec, on local processes or a Dask cluster, into one table.

    report = run_sweep("mathis.toml", "mathis.csv", workers=2)
    report = run_sweep(spec, "out.csv", dask="local")            # a LocalCluster
    report = run_sweep(spec, "out.csv", dask="tcp://host:8786")  # an existing scheduler

Rows are appended to the CSV (and flushed) as runs finish. Running again with the same output
file skips the runs already in it (matched by run id, a hash of the knobs and the seed), so an
interrupted sweep resumes where it stopped. A run that raises is recorded with its error. When
the sweep ends (or is interrupted) the file is rewritten in the spec's order, so the table is the
same whatever the number of workers, except for ``wall_seconds``.

A run id covers the knobs and the seed, not the netsim code: after changing netsim (or a
``cc = "file.py:Class"`` controller), start a new table rather than resuming an old one.
Workers of a remote Dask cluster need netsim installed, and any controller file at the same path.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from operator import index
from pathlib import Path
from typing import Any, TextIO

from netsim import argcheck
from netsim.errors import UsageError
from netsim.sweep.progress import Progress
from netsim.sweep.spec import Run, SweepSpec, load_spec
from netsim.sweep.table import SweepTable, columns_for, parquet_available, write_parquet
from netsim.sweep.worker import ignore_sigint, run_one

__all__ = ["SweepReport", "default_workers", "run_sweep"]

Outcome = dict[str, Any] | BaseException
ResultHook = Callable[[dict[str, Any]], None]


@dataclass
class SweepReport:
    """What a sweep did. ``failed`` counts rows of the table with an error; ``lost`` counts
    runs a worker crash left undone (not written: a re-run retries them)."""

    path: Path
    total: int
    skipped: int  # already in the table before this sweep
    ran: int  # finished and written by this sweep
    failed: int
    lost: int
    seconds: float
    backend: str
    interrupted: bool = False

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.skipped + self.ran == self.total


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


# --------------------------------------------------------------------------- backends
def _in_process(runs: list[Run]) -> Generator[tuple[Run, Outcome], None, None]:
    for run in runs:
        yield run, run_one(run.params, run.seed)


def _local_pool(runs: list[Run], workers: int) -> Generator[tuple[Run, Outcome], None, None]:
    # spawn: the same start method on every platform, and safe with threads in the driver.
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=ignore_sigint)
    pending: dict[Future[dict[str, Any]], Run] = {}
    finished = False
    try:
        for run in runs:
            pending[pool.submit(run_one, run.params, run.seed)] = run
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for fut in done:
                run = pending.pop(fut)
                try:
                    yield run, fut.result()
                except Exception as exc:  # the pool broke (a worker died): not the run's fault
                    yield run, exc
        finished = True
    finally:
        if not finished:  # interrupted: stop the workers now rather than after their runs
            for fut in pending:
                fut.cancel()
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


@contextlib.contextmanager
def _sigint_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def _dask(runs: list[Run], address: str,
          workers: int) -> Generator[tuple[Run, Outcome], None, None]:
    try:
        # Imported as a plain module object: an optional extra, typed or not.
        distributed: Any = importlib.import_module("distributed")
    except ImportError:
        raise UsageError("--dask: needs dask.distributed, an optional extra: "
                         "pip install 'netsim[dask]' (or pip install 'dask[distributed]')"
                         ) from None
    import logging

    cluster: Any = None
    client: Any = None
    futures: dict[Any, tuple[Any, Run]] = {}
    try:
        if address == "local":
            # Processes started while SIGINT is ignored keep ignoring it (and Python then
            # installs no KeyboardInterrupt handler): Ctrl-C is the driver's, which closes
            # the cluster, rather than a traceback from every worker.
            with _sigint_ignored():
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True,
                    dashboard_address=None, silence_logs=logging.ERROR)
            client = distributed.Client(cluster)
        else:
            try:
                client = distributed.Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(f"--dask: cannot connect to {address!r}: "
                                 f"{' '.join(str(exc).split())}") from None
        for run in runs:
            fut = client.submit(run_one, run.params, run.seed, key=f"netsim-sweep-{run.run_id}",
                                retries=0)
            futures[fut.key] = (fut, run)
        for fut in distributed.as_completed([f for f, _ in futures.values()]):
            _, run = futures.pop(fut.key)
            try:
                yield run, fut.result()
            except Exception as exc:  # a killed worker, a lost connection
                yield run, exc
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                left = [f for f, _ in futures.values()]
                if left:
                    client.cancel(left)
            with contextlib.suppress(Exception):
                client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


# --------------------------------------------------------------------------- driver
def _check_arguments(out: object, workers: object, dask: object, parquet: object,
                     stream: object, on_result: object) -> None:
    """The types `run_sweep` needs, checked before it writes anything (the command line
    gives the right ones; a notebook may not)."""
    argcheck.path("out", out, "sweep.csv")
    if parquet is not None:
        argcheck.path("parquet", parquet, "sweep.parquet")
    if workers is not None and (isinstance(workers, bool) or not hasattr(workers, "__index__")):
        raise UsageError(f"--workers: {workers!r:.60} is not a number of workers; use an int "
                         ">= 1")
    if dask is not None and not isinstance(dask, str):
        raise UsageError(f"dask: {dask!r:.60} is not a scheduler address; use 'local' or e.g. "
                         "'tcp://host:8786'")
    if stream is not None and not callable(getattr(stream, "write", None)):
        raise UsageError(f"stream: {stream!r:.60} is not a text stream; use e.g. sys.stderr")
    argcheck.callable_("on_result", on_result, "a function of one row (a dict)")


def run_sweep(spec: SweepSpec | str | Path, out: str | Path, *, workers: int | None = None,
              dask: str | None = None, parquet: str | Path | None = None,
              progress: bool = True, stream: TextIO | None = None,
              on_result: ResultHook | None = None) -> SweepReport:
    """Run every run of ``spec`` not already in ``out`` (see the module docstring).

    ``workers``: local processes (default: every core; 1 runs in this process) or, with
    ``dask="local"``, LocalCluster workers. ``dask``: ``"local"`` or a scheduler address.
    ``on_result(row)`` is called after each row is written. KeyboardInterrupt stops the
    workers, leaves a valid sorted table and is raised again.

    Local workers are started with "spawn": a script that calls this must do so under
    ``if __name__ == "__main__":`` (as with any multiprocessing pool).
    """
    if not isinstance(spec, SweepSpec):
        if not isinstance(spec, str | os.PathLike):
            raise UsageError(f"spec: {spec!r:.60} is not a SweepSpec or a spec file's path; use "
                             "load_spec(path) or parse_spec(dict)")
        spec = load_spec(spec)
    _check_arguments(out, workers, dask, parquet, stream, on_result)
    out = Path(out)
    if out.suffix.lower() in (".parquet", ".pq"):
        raise UsageError(f"--out: {str(out)!r}: the resumable table is CSV; "
                         "use --parquet FILE for a Parquet copy")
    if out.is_dir():
        raise UsageError(f"--out: {str(out)!r} is a folder; give a FILE.csv")
    if not out.parent.is_dir():
        raise UsageError(f"--out: cannot write {str(out)!r}: no folder {str(out.parent)!r}")
    if parquet is not None:
        pq_path = Path(parquet)
        if pq_path.is_dir():
            raise UsageError(f"--parquet: {str(pq_path)!r} is a folder; give a FILE.parquet")
        if not pq_path.parent.is_dir():
            raise UsageError(f"--parquet: cannot write {str(pq_path)!r}: no folder "
                             f"{str(pq_path.parent)!r}")
        if not parquet_available():
            raise UsageError("--parquet: needs pyarrow (pip install pyarrow)")
    workers = None if workers is None else index(workers)
    if workers is not None and workers < 1:
        raise UsageError(f"--workers: {workers!r} is not a number of workers; use 1 or more")
    if dask is not None and dask != "local" and workers is not None:
        raise UsageError("--workers: an existing Dask cluster has its own workers; "
                         "leave out --workers, or use --dask local")
    stream = stream if stream is not None else sys.stderr
    nworkers = workers if workers is not None else default_workers()

    runs = spec.runs()
    order = {r.run_id: r.index for r in runs}
    table = SweepTable(out, columns_for(spec))
    table.load()
    skipped = sum(1 for r in runs if r.run_id in table.rows)
    todo = [r for r in runs if r.run_id not in table.rows]
    table.rewrite(order)  # header, and drop any torn or damaged row

    if not todo:
        backend = "nothing left to run"
        results: Generator[tuple[Run, Outcome], None, None] = _in_process([])
    elif dask is not None:
        backend = f"dask {dask}" + (f" ({nworkers} workers)" if dask == "local" else "")
        results = _dask(todo, dask, nworkers)
    elif nworkers == 1 or len(todo) <= 1:
        backend = "1 process"
        results = _in_process(todo)
    else:
        nworkers = min(nworkers, len(todo))
        backend = f"{nworkers} local processes"
        results = _local_pool(todo, nworkers)

    def failed_now() -> int:
        err = table.columns.index("error")
        return sum(1 for cells in table.rows.values() if cells[err])

    bar = Progress(len(runs), skipped, stream=stream, enabled=progress)
    start = time.monotonic()
    ran = lost = 0
    interrupted = False
    first_lost = ""
    table.open_append()
    try:
        with contextlib.closing(results):
            for run, outcome in results:
                if isinstance(outcome, BaseException):
                    lost += 1
                    first_lost = first_lost or f"{type(outcome).__name__}: {outcome}"
                    continue
                row: dict[str, Any] = {"run_id": run.run_id, **run.params, "seed": run.seed}
                row.update({k: v for k, v in outcome.items() if k not in row})
                table.append(row)
                ran += 1
                bar.update(skipped + ran, failed_now())
                if on_result is not None:
                    on_result(row)
    except KeyboardInterrupt:
        interrupted = True
        raise
    finally:
        table.close()
        bar.close()
        table.rewrite(order)
        if interrupted:
            print(f"netsim sweep: interrupted: {skipped + ran} of {len(runs)} runs are in "
                  f"{str(out)!r}; run the same command again to resume", file=stream)
    if lost:
        print(f"netsim sweep: {lost} runs were lost to a worker failure ({first_lost}); "
              "run again to retry them", file=stream)
    if parquet is not None:
        write_parquet(out, parquet)
    return SweepReport(path=out, total=len(runs), skipped=skipped, ran=ran,
                       failed=failed_now(), lost=lost, seconds=time.monotonic() - start,
                       backend=backend)

