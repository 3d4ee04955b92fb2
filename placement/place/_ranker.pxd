# Declarations of the placement ranker. Strategy kinds as the ranker sees them:
cpdef enum StrategyKind:
    BINPACK_CPU = 0
    BINPACK_MEMORY = 1
    SPREAD_INSTANCE = 2        # tasks of the group on the instance itself
    SPREAD_BUCKET = 3          # tasks of the group on all instances sharing a value
    RANDOM = 4
