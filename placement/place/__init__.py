"""Placement: which instance each task goes to (SPEC section 2)."""
from placement.place.placer import Placer
from placement.place.result import Placement, PlacementResult
from placement.place.strategies import (Binpack, Demand, DistinctInstance, MemberOf, Random, Spread,
                                        ecs_service_default)

__all__ = ["Placer", "Placement", "PlacementResult", "Binpack", "Spread", "Random", "MemberOf",
           "DistinctInstance", "Demand", "ecs_service_default"]
