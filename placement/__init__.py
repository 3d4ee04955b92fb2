"""placement: the Amazon ECS cluster query language and task placement, compiled.

    >>> from placement import compile, Fleet
    >>> pred = compile("attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone != us-east-1d")
    >>> mask = pred.evaluate(fleet)          # one bool per instance, in fleet order
"""
from placement.errors import ConcurrentUseError, InputError, PlacementError, QuerySyntaxError, QueryTypeError, Span
from placement.fleet import Fleet, demo
from placement.predicate import Predicate, compile  # noqa: A004

__all__ = ["compile", "Predicate", "Fleet", "demo", "PlacementError", "QuerySyntaxError",
           "QueryTypeError", "InputError", "ConcurrentUseError", "Span"]
__version__ = "0.1.0"
