"""Simulation over simulated time (SPEC 4): traces (``trace``: the JSON Lines format and converters
of real traces), their replay through the library's ``Placer`` (``replay``) and the slow reference
replay the tests check it against (``reference``). Needs only the core install."""
from placement.simulate.replay import Replay, replay
from placement.simulate.trace import TraceTask, convert_alibaba_gpu, parse_trace, read_trace, write_trace

__all__ = ["Replay", "TraceTask", "convert_alibaba_gpu", "parse_trace", "read_trace", "replay", "write_trace"]
