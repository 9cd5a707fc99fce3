from .runs import Run, RunsTable, active_run, get_run, record, runs, start_run

__all__ = ["Run", "RunsTable", "active_run", "get_run", "record", "runs", "start_run"]
