// Sharing one CPU-bound job between the calling thread and at most one short-lived helper:
// whether a core is spare right now (so a helper can run beside the caller instead of taking
// turns with it), and a run over numbered chunks that both threads claim one at a time, so a
// helper that gets no core costs the caller at most the chunk it holds. No N-API, no statics.
#pragma once

#include <cstddef>
#include <functional>

namespace xapi {

// Whether a job takes a helper: Auto asks spare_core() at the start of the job; Alone and Helper
// decide it outright (tests and benchmarks use them to measure both ways).
enum class Sharing { Auto, Alone, Helper };

// True when this process may use a second core (affinity and cgroup quota allow two) and fewer
// threads are runnable system-wide than there are online CPUs (one of them is the caller).
bool spare_core();

inline bool take_helper(Sharing s) { return s == Sharing::Helper || (s == Sharing::Auto && spare_core()); }

// Runs job(i) once for every i in [0, n): on the calling thread, and on one helper thread too
// when `helper`; chunks are claimed in increasing order. Returns when every claimed chunk has
// finished. The first exception a job throws stops further claims and is rethrown here.
void share_chunks(size_t n, bool helper, const std::function<void(size_t)>& job);

}  // namespace xapi
