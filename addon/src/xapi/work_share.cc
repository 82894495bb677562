// Spare-core check and chunk sharing (see work_share.h). The check reads the CPU affinity mask,
// the cgroup v2 CPU quota and the kernel's count of runnable threads (/proc/loadavg); it is a
// snapshot, so a wrong guess costs at most one chunk, never correctness.
#include "xapi/work_share.h"

#include <sched.h>
#include <sys/sysinfo.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <system_error>
#include <thread>

namespace xapi {

namespace {

// CPUs the cgroup v2 quota grants (cpu.max "quota period"), or a large number when unlimited
// or unknown.
double quota_cpus() {
  FILE* f = std::fopen("/sys/fs/cgroup/cpu.max", "r");
  if (!f) return 1e9;
  char quota[32] = {0};
  long period = 0;
  int got = std::fscanf(f, "%31s %ld", quota, &period);
  std::fclose(f);
  if (got != 2 || period <= 0 || quota[0] < '0' || quota[0] > '9') return 1e9;
  return std::strtod(quota, nullptr) / static_cast<double>(period);
}

// Threads runnable system-wide right now, the caller included (/proc/loadavg: "... R/T last").
long runnable_now() {
  FILE* f = std::fopen("/proc/loadavg", "r");
  if (!f) return -1;
  double a, b, c;
  long running = -1, total = 0;
  if (std::fscanf(f, "%lf %lf %lf %ld/%ld", &a, &b, &c, &running, &total) != 5) running = -1;
  std::fclose(f);
  return running;
}

}  // namespace

bool spare_core() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0 || CPU_COUNT(&set) < 2) return false;
  if (quota_cpus() < 1.9) return false;
  long running = runnable_now();
  return running >= 1 && running < get_nprocs();
}

void share_chunks(size_t n, bool helper, const std::function<void(size_t)>& job) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  std::exception_ptr failure;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) {
      try {
        job(i);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu);
        if (!failure) failure = std::current_exception();
        next.store(n, std::memory_order_relaxed);
      }
    }
  };
  std::thread t;
  if (helper && n >= 2) {
    try {
      t = std::thread(work);
    } catch (const std::system_error&) {
      // No thread to be had: the caller does every chunk.
    }
  }
  work();
  if (t.joinable()) t.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace xapi
