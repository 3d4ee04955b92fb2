# Declarations of the placement state: what placement changes, one source of truth, in C arrays
# the ranker reads without the GIL. See _state.pyx for the meaning of each part.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from placement.engine._kernels cimport RowProgram
from placement.place._intmap cimport IntMap
from placement.place._ports cimport Demand, Ports

# One task, in a slot of the task table: slots are reused once their task stops, so the table
# is as large as the most tasks alive at once. Its number is what callers see (never reused).
cdef struct Task:
    int64_t number                # handed out in order, 0, 1, ...
    int64_t origin                # the fleet's task index, for a task adopted from it (-1: placed here)
    int64_t row
    int64_t cpu
    int64_t memory
    int64_t gpu
    int64_t row_prev              # slots: the previous task on the row, any group (-1: none)
    int64_t row_next
    int64_t prev                  # the previous task of the same group on the row
    int64_t next                  # (a free slot: the next free one)
    int64_t port_start            # into the port pool
    int32_t group
    int32_t port_count            # ports held
    int32_t port_room             # ports its place in the pool has room for
    uint8_t alive


# What one task of a group moves on its row besides resources and the totals.
cdef struct Counters:
    int64_t* count                # tasks of the group per row
    int tallies                   # per-row counts of stateful task:group leaves that name the group
    int64_t** tally
    int buckets                   # spread counts: tasks of the group per bucket of an attribute
    const uint32_t** bucket_of
    int64_t** bucket_count


cdef class State:
    cdef readonly Py_ssize_t n, capacity
    # per row
    cdef int64_t* cpu
    cdef int64_t* memory
    cdef int64_t* gpu
    cdef int64_t* running         # runningTasksCount
    cdef int64_t* group_total_    # counted tasks in any group
    cdef uint8_t* eligible        # ACTIVE and agent connected
    cdef uint8_t* active          # ACTIVE (scale-in stops tasks on the others first)
    cdef int64_t* row_last        # the row's last task's slot (-1: none)
    cdef dict arrays              # name -> numpy array the pointers above point into
    cdef readonly Ports ports     # the host ports in use
    # tasks, numbered in the order they came, each in a slot while it runs
    cdef Task* task_table
    cdef readonly Py_ssize_t tasks            # numbers handed out
    cdef readonly Py_ssize_t slots            # slots ever used (live and free)
    cdef Py_ssize_t task_capacity
    cdef int64_t free_slot                    # the first free slot (-1: none)
    cdef IntMap slot_of                       # a running task's number -> its slot
    cdef IntMap last_of_group     # (row << 24 | group) -> the slot of the row's last task of the group
    cdef int64_t* port_pool       # held ports, DYNAMIC_PORT set on assigned ones
    cdef readonly Py_ssize_t pool_size        # the port pool's room handed out (running tasks', free, dropped)
    cdef Py_ssize_t pool_capacity, pool_live
    # counters per group code
    cdef Counters* counters
    cdef Py_ssize_t groups, group_capacity
    cdef list counter_arrays      # per group: the numpy arrays its Counters point into
    # constraints that read placed state, re-evaluated for a row whenever its tasks change
    cdef RowProgram* programs
    cdef uint8_t** program_masks
    cdef int program_count
    cdef list program_refs
    # rows whose state changed, in order; the ranker's indexes catch up from it
    cdef int64_t* log
    cdef readonly Py_ssize_t log_start, log_size
    cdef Py_ssize_t log_capacity
    cdef readonly int64_t epoch   # changes whenever a per-row array is replaced

    cdef int64_t new_task(self, Py_ssize_t row, Py_ssize_t group, int64_t cpu, int64_t memory, int64_t gpu,
                          Py_ssize_t ports, int64_t origin) except -1 nogil
    cdef int pool_room(self, Py_ssize_t ports) except -1 nogil
    cdef int64_t slot(self, int64_t number) noexcept nogil
    cdef void count(self, int64_t t, int64_t step) noexcept nogil
    cdef void take(self, int64_t t, int64_t step) noexcept nogil
    cdef int hold(self, int64_t t, int64_t port) except -1 nogil
    cdef int held(self, int64_t t, ports, bint started) except -1
    cdef int64_t place(self, Py_ssize_t row, Py_ssize_t group, const Demand* demand, int64_t* host_ports) except -1 nogil
    cdef int64_t release(self, int64_t t) except -1 nogil
    cdef int64_t last_task(self, Py_ssize_t row, Py_ssize_t group) noexcept nogil
    cdef int changed(self, Py_ssize_t row) except -1 nogil
    cdef int64_t log_at(self, Py_ssize_t sequence) noexcept nogil

