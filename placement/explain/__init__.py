"""Why an expression selects what it does: per-node counts (``explain``), one instance's answer
node by node (``why``), and lint (SPEC 1.6, 1.7). The placement explanation (SPEC 2b) is computed
in ``placement.place.reasons`` (``place`` never imports this package) and rendered here."""
