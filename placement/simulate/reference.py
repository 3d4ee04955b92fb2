"""The reference replay: the replay rules of ``placement.simulate.replay`` (SPEC 4), one simulated
time at a time, placing with the reference placer only (``placement.place.reference``).

Slow on purpose and written to be obviously right; the fast replay must give the same events,
task by task. It keeps no placer state between calls: before every decision it rebuilds the fleet
as the replay has changed it (each instance's remaining resources, runningTasksCount and task
groups, from the list of running tasks) and asks the reference placer for one task on it.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

from placement.explain.placement import summary
from placement.fleet.model import Fleet, Resources
from placement.place.reference import place_reference
from placement.place.requests import Demand, Random
from placement.simulate.trace import TraceTask, task_seed


class _Changed(list):
    """The fleet's instances as the replay has changed them: what ``place_reference`` reads."""

    @property
    def arns(self) -> list[str]:
        return [instance.arn for instance in self]


def replay_reference(fleet: Fleet, tasks: list[TraceTask], strategies=None, *, queue: bool = False,
                     seed: int = 0) -> list[tuple]:
    """The events ``(t, event, task index, instance position or reason)`` of the replay."""
    strategies = list(strategies) if strategies else [Random()]
    instances = list(fleet)
    running: dict[int, int] = {}                     # task index -> instance position
    events: list[tuple] = []

    def changed() -> _Changed:
        out = _Changed()
        for position, instance in enumerate(instances):
            mine = [tasks[i] for i, p in running.items() if p == position]
            groups = Counter(instance.task_groups)
            groups.update(task.group for task in mine)
            left = instance.remaining
            out.append(replace(instance, running_tasks_count=instance.running_tasks_count + len(mine),
                               task_groups=dict(groups),
                               remaining=Resources(left.cpu - sum(t.cpu for t in mine),
                                                   left.memory - sum(t.memory for t in mine),
                                                   left.gpu - sum(t.gpu for t in mine), left.ports)))
        return out

    def try_to_place(i: int, t: float):
        """None when placed (the event recorded), else the reason it was not."""
        task = tasks[i]
        result = place_reference(changed(), Demand(task.cpu, task.memory, task.gpu), 1, task.group,
                                 list(task.constraints), strategies, seed=task_seed(seed, i))
        if result.unplaced:
            return summary(result.reasons)
        running[i] = int(result.positions[0])
        events.append((t, "place", i, running[i]))
        return None

    def lasts(task: TraceTask) -> bool:
        return task.departure is None or task.departure > task.arrival

    times = sorted({task.arrival for task in tasks} |
                   {task.departure for task in tasks if task.departure is not None and lasts(task)})
    waiting: dict[int, str] = {}                     # task index -> reason of its last try, in arrival order
    for t in times:
        for i in [i for i in waiting if tasks[i].departure is not None and tasks[i].departure <= t]:
            events.append((t, "unplaced", i, waiting.pop(i)))
        for i, task in enumerate(tasks):
            if task.departure == t and lasts(task) and i in running:
                events.append((t, "stop", i, running.pop(i)))
                for w in list(waiting):
                    reason = try_to_place(w, t)
                    if reason is None:
                        del waiting[w]
                    else:
                        waiting[w] = reason
        for i, task in enumerate(tasks):
            if task.arrival != t:
                continue
            reason = try_to_place(i, t)
            if reason is None:
                if not lasts(task):
                    events.append((t, "stop", i, running.pop(i)))
            elif queue and lasts(task):
                waiting[i] = reason
            else:
                events.append((t, "unplaced", i, reason))
    for i, reason in waiting.items():
        events.append((times[-1], "unplaced", i, reason))
    return events
