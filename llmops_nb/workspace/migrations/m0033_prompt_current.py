"""Which version a prompt's bare name means: the one registered (or registered again) last, as for datasets
(m0012). Rows from before this migration count in the order they were made, so each name keeps meaning its newest."""
from ..db import migration, run_script


@migration("0033_prompt_current")
def _prompt_current(conn):
    run_script(conn, """
        ALTER TABLE prompts ADD COLUMN current_seq INTEGER;
        UPDATE prompts SET current_seq = id;
        CREATE INDEX prompts_current ON prompts(name, current_seq)
    """)
