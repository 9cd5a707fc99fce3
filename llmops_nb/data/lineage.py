"""A dataset's versions with their lineage, as plain data (the JupyterLab panel's `datasets` routes): for each
version its parent and the steps that made it, with record counts in and out, read from the curation records
the workspace stores (`curations.report`: a curation's per-step report, a review's counts)."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from ..workspace import check_name, workspace
from .datasets import dataset

_CURRENT = "SELECT x.id FROM datasets x WHERE x.name = d.name ORDER BY x.current_seq DESC, x.version DESC LIMIT 1"


def dataset_summaries() -> Dict[str, Any]:
    """Every dataset name with its current version: `{"version": 1, "datasets": [{"name", "current" (ref of the
    version the bare name means), "versions" (how many), "records", "created_at" (of the current version)}]}`."""
    db = workspace().db
    rows = db.execute(f"SELECT d.name, d.version, d.n_records, d.created_at, "
                      f"(SELECT count(*) FROM datasets c WHERE c.name = d.name) AS n_versions "
                      f"FROM datasets d WHERE d.id = ({_CURRENT}) ORDER BY d.name")
    return {"version": 1, "datasets": [{"name": r["name"], "current": f"{r['name']}@v{r['version']}",
                                        "versions": r["n_versions"], "records": r["n_records"],
                                        "created_at": r["created_at"]} for r in rows]}


def _steps(op: str, report: Any, n_in: Optional[int], n_out: int) -> List[Dict[str, Any]]:
    """[{"step", "in", "out"}] of one version: a curation's steps from its report, else one step named by the op
    (load: no records in; review: its counts of rejected, edited and restored records beside)."""
    if op == "curate" and isinstance(report, list) and report:
        return [{"step": r.get("step"), "in": r.get("in"), "out": r.get("out")} for r in report]
    step: Dict[str, Any] = {"step": op, "in": n_in, "out": n_out}
    if op == "review" and isinstance(report, dict):
        step.update({k: v for k, v in report.items() if k in ("rejected", "edited", "restored")})
    return [step]


def dataset_versions(name: str) -> Dict[str, Any]:
    """Every version of the dataset `name`, oldest first, with lineage: `{"version": 1, "name", "current", "versions":
    [{"version", "ref", "records", "created_at", "parent" (ref or None), "hash", "op", "source", "run_id",
    "steps": [{"step", "in", "out"}]}]}`. An unknown name is the NotFoundError of `dataset(name)`."""
    check_name("dataset", name)
    current = dataset(name).ref
    db = workspace().db
    reports = {r["output_id"]: (r["op"], json.loads(r["report"] or "null")) for r in db.execute(
        "SELECT c.output_id, c.op, c.report FROM curations c JOIN datasets d ON d.id = c.output_id "
        "WHERE d.name = ? AND c.op IN ('curate', 'review') ORDER BY c.id", (name,))}
    versions = []
    for r in db.execute("SELECT d.*, p.name AS pname, p.version AS pversion, p.n_records AS pn FROM datasets d "
                        "LEFT JOIN datasets p ON p.id = d.parent_id WHERE d.name = ? ORDER BY d.version", (name,)):
        op, report = reports.get(r["id"], (r["op"], None))
        versions.append({"version": r["version"], "ref": f"{name}@v{r['version']}", "records": r["n_records"],
                         "created_at": r["created_at"],
                         "parent": f"{r['pname']}@v{r['pversion']}" if r["pname"] is not None else None,
                         "hash": r["snapshot"], "op": r["op"], "source": r["source"], "run_id": r["run_id"],
                         "steps": _steps(op, report, r["pn"], r["n_records"])})
    return {"version": 1, "name": name, "current": current, "versions": versions}


__all__ = ["dataset_summaries", "dataset_versions"]
