// Everything the host keeps for one PHP thread: its request ring, its notifier, the park flag
// of the wake handshake, and the queue of frames JS has handed back for release.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "../php/phpa_bridge.h"
#include "notifier.h"
#include "spsc_ring.h"

namespace phpa {

struct ThreadSlot {
  // +1: one slot more than buffer_size so the shutdown sentinel always fits.
  explicit ThreadSlot(size_t buffer_size) : ring(buffer_size + 1), capacity(buffer_size) {}
  // Jobs the thread never took are freed here: the stop sentinel that stop() pushes after the
  // thread already gave up (worker file failed), and requests queued behind it. Pops as the
  // consumer, so the thread must be gone (~Engine leaks the slots of threads it could not join).
  ~ThreadSlot() {
    phpa_job* job;
    while (ring.TryPop(&job)) free(job);
  }

  SpscRing<phpa_job*> ring;
  const size_t capacity;  // requests accepted per ring (buffer_size)
  Notifier notifier;

  // Wake handshake (Dekker-style; both sides use a seq_cst fence between their store and
  // their load, so at least one of them sees the other's store):
  //   consumer: parked=N; fence; if (work visible) parked=0 & don't block; else block on fd
  //   producer: publish work; fence; if (parked) signal fd
  // Either the consumer sees the work, or the producer sees parked=N and signals: no lost
  // wake-up. While the consumer is busy, parked stays 0 and producers make no syscall.
  // parked holds the number of the current park (never 0), so the producer signals each park
  // once: a second write before the consumer drains would wake nobody (see WakeIfParked).
  std::atomic<uint64_t> parked{0};  // relaxed loads/stores; ordering comes from the fences
  uint64_t park_seq = 0;            // consumer only: the last park's number

  // Set with the sentinel; seq_cst so the park re-check sees it like a pushed job.
  std::atomic<int> stop{0};

  // Frames handed back by JS, drained by the PHP thread at its next tick.
  std::mutex released_mu;
  std::vector<phpa_frame*> released;  // guarded by released_mu
  // seq_cst RMW: published before the producer's parked check, read in the park re-check.
  std::atomic<size_t> released_count{0};

  // Request ids JS cancelled (client gone before the response ended), taken by the PHP thread
  // at its next VM interrupt or job pop.
  std::mutex cancelled_mu;
  std::vector<uint64_t> cancelled;  // guarded by cancelled_mu
  // relaxed: a hint that lets the PHP thread skip the lock; the mutex orders the ids themselves.
  std::atomic<size_t> cancelled_count{0};

  // Streamed frames that JS holds (sent, not yet taken back by this thread).
  std::atomic<uint64_t> outstanding{0};  // relaxed: a counter for stats and shutdown checks

  // Requests currently queued or running on this thread (for stats and tests).
  std::atomic<uint64_t> submitted{0};  // relaxed: statistics only

  // JS thread only: notifier writes made by WakeIfParked() (stats: wake-ups per request).
  uint64_t wakes = 0;
  // JS thread only: this burst already woke the thread (see Engine::Submit).
  bool woken_this_turn = false;
  // JS thread only: the park the notifier was last written for. The consumer drains the
  // notifier only when that park ends, and the next park has a new number.
  uint64_t signalled_park = 0;

  std::thread thread;

  // Producer side of the handshake, after work was published. True when the thread is parked
  // (it was signalled, now or earlier in the same park).
  // Measured, /delay at c=200: 0.38-0.42 notifier writes per request for 0.13 parks that
  // blocked when every producer call wrote while the thread was still marked parked (the rest
  // of a burst, the half-full ring, the turn's end); 0.12 once per park.
  bool WakeIfParked() {
    std::atomic_thread_fence(std::memory_order_seq_cst);  // orders our publish before the parked read
    const uint64_t p = parked.load(std::memory_order_relaxed);
    if (p == 0) return false;
    if (p != signalled_park) {
      notifier.Signal();
      signalled_park = p;
      wakes++;
    }
    return true;
  }

  // Consumer side, before blocking on the notifier: true when work is already waiting (the
  // caller must not block). watch_ring=false: queued jobs do not count (see phpa_bridge.h).
  bool ParkBegin(bool watch_ring) {
    if (++park_seq == 0) park_seq = 1;  // 0 means "not parked"
    parked.store(park_seq, std::memory_order_relaxed);
    // seq_cst fence: orders parked=N before the re-checks below (pairs with WakeIfParked()).
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if ((watch_ring && !ring.EmptyForConsumer()) || released_count.load(std::memory_order_relaxed) != 0) {
      parked.store(0, std::memory_order_relaxed);
      return true;
    }
    return false;
  }

  // Consumer side, after the block returned: stop parking and consume the notifier's counter.
  void ParkEnd() {
    parked.store(0, std::memory_order_relaxed);
    notifier.Drain();
  }
};

}  // namespace phpa
