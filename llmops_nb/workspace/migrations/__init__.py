"""Named, ordered migrations, one module per area (m0001_runs, m0010_datasets, ...). Every module here is
imported by open_db; each registers functions with `@migration("NNNN_name")`. Never edit an applied one."""
import importlib
import pkgutil


def load_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")
