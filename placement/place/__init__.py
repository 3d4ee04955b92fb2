"""Placement: which instance each task goes to, and which tasks scale-in stops (SPEC sections 2, 2b)."""
from placement.place.placer import Placer, PreparedRequest
from placement.place.requests import (Binpack, Demand, DistinctInstance, MemberOf, Random, Spread,
                                      ecs_service_default)
from placement.place.result import BatchResult, Placement, PlacementResult, Stop, StopResult

__all__ = ["Placer", "PreparedRequest", "Placement", "PlacementResult", "BatchResult", "Stop", "StopResult",
           "Binpack", "Spread", "Random", "MemberOf", "DistinctInstance", "Demand", "ecs_service_default"]
