// The phpa_host_* half of the bridge: what PHP threads may ask of the host. No Zend calls
// here and nothing that throws: PHP can longjmp through the frames that call these.
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../php/phpa_bridge.h"
#include "engine.h"

using phpa::Engine;
using phpa::ThreadSlot;

static ThreadSlot& Slot(int thread) { return Engine::Live()->slot(thread); }

extern "C" phpa_job* phpa_host_ring_pop(int thread) {
  phpa_job* job = nullptr;
  return Slot(thread).ring.TryPop(&job) ? job : nullptr;
}

extern "C" int phpa_host_notifier_fd(int thread) { return Slot(thread).notifier.fd(); }

// Optionally look for work for PHPASYNC_SPIN_US microseconds before parking, which saves the
// producer's eventfd write and this thread's wake-up when the next request comes soon. Off by
// default: on a 2-core machine the spinning steals the CPU the JS thread needs (bench/hello.ts:
// 0.31-0.41x of Fastify with 50 us of spin, 0.71-0.85x without, same runs).
static bool SpinForWork(ThreadSlot& s, int watch_ring) {
  static const long spin_ns = [] {
    const char* v = getenv("PHPASYNC_SPIN_US");
    return (v ? atol(v) : 0) * 1000;
  }();
  if (spin_ns <= 0) return false;
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  do {
    for (int i = 0; i < 32; i++) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    if ((watch_ring && !s.ring.EmptyForConsumer()) || s.released_count.load(std::memory_order_relaxed) != 0) {
      return true;
    }
    clock_gettime(CLOCK_MONOTONIC, &now);
  } while ((now.tv_sec - start.tv_sec) * 1000000000L + (now.tv_nsec - start.tv_nsec) < spin_ns);
  return false;
}

extern "C" int phpa_host_park_begin(int thread, int watch_ring) {
  ThreadSlot& s = Slot(thread);
  if (SpinForWork(s, watch_ring)) return 1;
  return s.ParkBegin(watch_ring != 0) ? 1 : 0;
}

extern "C" void phpa_host_park_end(int thread) { Slot(thread).ParkEnd(); }

extern "C" void phpa_host_send_frame(phpa_frame* frame) {
  Engine* e = Engine::Live();
  if (frame->stream != nullptr) e->slot(frame->thread).outstanding.fetch_add(1, std::memory_order_relaxed);
  e->Send(phpa::Outbound{frame, nullptr});
}

extern "C" size_t phpa_host_take_released(int thread, phpa_frame** out, size_t max) {
  ThreadSlot& s = Slot(thread);
  if (s.released_count.load(std::memory_order_relaxed) == 0) return 0;  // no lock on the hot path
  size_t n = 0;
  std::lock_guard<std::mutex> lk(s.released_mu);
  while (n < max && !s.released.empty()) {
    out[n++] = s.released.back();
    s.released.pop_back();
  }
  s.released_count.fetch_sub(n, std::memory_order_seq_cst);
  s.outstanding.fetch_sub(n, std::memory_order_relaxed);
  return n;
}

extern "C" void phpa_host_event(int thread, int kind, int level, uint64_t request_id, const char* msg, size_t len) {
  auto ev = std::make_unique<phpa::Event>(phpa::Event{thread, kind, level, request_id, std::string(msg, len)});
  Engine::Live()->Send(phpa::Outbound{nullptr, std::move(ev)});
}

extern "C" size_t phpa_host_take_cancelled(int thread, uint64_t* out, size_t max) {
  ThreadSlot& s = Slot(thread);
  if (s.cancelled_count.load(std::memory_order_relaxed) == 0) return 0;  // no lock on the hot path
  std::lock_guard<std::mutex> lk(s.cancelled_mu);
  size_t n = 0;
  while (n < max && n < s.cancelled.size()) {
    out[n] = s.cancelled[n];
    n++;
  }
  s.cancelled.erase(s.cancelled.begin(), s.cancelled.begin() + static_cast<std::ptrdiff_t>(n));
  s.cancelled_count.store(s.cancelled.size(), std::memory_order_relaxed);
  return n;
}

extern "C" int phpa_host_stop_requested(int thread) { return Slot(thread).stop.load(std::memory_order_relaxed); }
