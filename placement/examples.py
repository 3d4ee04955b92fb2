"""Example expressions for ``placement demo`` and the tests.

``ECS_DOC_EXAMPLES`` are copied verbatim from the Amazon ECS Developer Guide ("Cluster query
language", "Example constraints"); ``FLEET_EXAMPLES`` show the language on the demo fleet,
including the absent-value rule that surprises people (``!=`` versus ``not(... == ...)``).
The demo fleet carries what the documentation's examples name (t2.small and g2 instances, an
agent older than 1.14.5 registered before 2018-02-13, ``i-abcd1234``, the task groups
``service:production`` and ``database``, a ``stack`` attribute), so that each selects some of
``demo(200)`` and none selects all of it (tests/test_demo.py holds this for seeds 0 to 4).
"""

ECS_DOC_EXAMPLES = (
    "attribute:ecs.instance-type == t2.small",
    "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
    "attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d",
    "task:group == service:production",
    "not(task:group == database)",
    "runningTasksCount == 1",
    "agentVersion < 1.14.5",
    "registeredAt < 2018-02-13",
    "ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']",
    "attribute:ecs.instance-type =~ t2.*",
    "attribute:stack == prod",
    "attribute:stack != prod",
)

FLEET_EXAMPLES = (
    "attribute:ecs.instance-type =~ t3.* and attribute:ecs.availability-zone != us-east-1d",
    "attribute:ecs.cpu-architecture == arm64",
    "attribute:stack != prod",
    "not(attribute:stack == prod)",
    "attribute:team !exists",
    "attribute:ecs.capability.task-eni exists",
    "task:group == service:web",
    "not(task:group == service:web) and runningTasksCount < 3",
    "agentVersion >= 1.70",
    "attribute:ecs.instance-type =~ '(g4dn|p3)\\..*'",
)
