"""The benchmark harness (``placement bench``): the named workloads and fleets of any size
(``workloads``), one timing rule (``timing``), the machine a run was on (``machine``), the
comparisons, each checking that every method gives the same answer before its time counts
(``evaluation`` against the peers, ``placement`` against the baselines, ``simulation``), and the
results as JSON, Markdown and plots (``render``, ``compare``).

The harness comes after every other stage, so it imports them and nothing imports it. The peers
(pandas, polars, DuckDB, pyarrow) and matplotlib are the optional extra ``bench``: a missing
one is reported as skipped, never a crash.
"""
