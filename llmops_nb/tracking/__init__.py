from .runs import Run, RunsTable, active_run, get_run, record, runs, start_run
from .trace_query import TracesTable, traces
from .tracer import trace

__all__ = ["Run", "RunsTable", "active_run", "get_run", "record", "runs", "start_run", "trace", "traces", "TracesTable"]
