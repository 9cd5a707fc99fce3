"""Named, ordered migrations, one module per migration, named after it (m0001_runs holds "0001_runs",
m0031_generation holds "0031_generation", ...). open_db imports every module here; each registers its function
with `@migration("NNNN_name")`. Never edit an applied one: add a new, later-numbered module."""
import importlib
import pkgutil


def load_all() -> None:
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        importlib.import_module(f"{__name__}.{info.name}")
