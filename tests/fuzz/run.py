"""Run one fuzz target with atheris (coverage-guided), its corpus folder as the seed and output:

    python tests/fuzz/run.py TARGET [libFuzzer options: -runs=N, -max_total_time=S, ...]

The inputs that found new coverage go to ``.fuzz/TARGET/`` (not committed), seeded from the
committed ``tests/fuzz/corpus/TARGET/``. A crash stops the run and writes ``crash-*`` into the
working directory; copy it into ``tests/fuzz/corpus/TARGET/`` once fixed, so ``test_corpus.py``
keeps it fixed. ``make fuzz-smoke`` runs every target briefly against the debug build.
"""
from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))

with atheris.instrument_imports(include=["placement"]):
    import targets                                                # noqa: E402


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in targets.TARGETS:
        sys.exit(f"usage: run.py {{{','.join(targets.TARGETS)}}} [libFuzzer options]")
    name = sys.argv[1]
    here = Path(__file__).resolve().parent
    found = here.parents[1] / ".fuzz" / name
    found.mkdir(parents=True, exist_ok=True)
    atheris.Setup([sys.argv[0], *sys.argv[2:], str(found), str(here / "corpus" / name)], targets.TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
