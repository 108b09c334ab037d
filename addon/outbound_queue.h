// The outbound queue: PHP threads push frames and events, the JS thread drains them in one call
// per wake, in the order they were pushed.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../php/phpa_bridge.h"

namespace phpa {

struct Event {
  int thread;
  int kind;  // phpa_event_kind
  int level;
  uint64_t request_id;
  std::string message;
};

// An item of the outbound queue: a frame or an event.
struct Outbound {
  phpa_frame* frame;
  std::unique_ptr<Event> event;
  // CLOCK_MONOTONIC ns when pushed; set only while latency tracing is on (Engine::trace_).
  uint64_t pushed_ns = 0;
};

class OutboundQueue {
 public:
  // Any thread. Returns true when the caller must wake the consumer: only the first producer
  // after a drain started pays for the wake (libuv coalesces the rest anyway).
  bool Push(Outbound item) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      items_.push_back(std::move(item));
    }
    // seq_cst exchange: pairs with the store in Take(); a producer that pushes after the
    // consumer's swap sees false and wakes it again, so no item waits for a wake that never comes.
    return !wake_scheduled_.exchange(true);
  }

  // JS thread: everything pushed so far, in order, into `batch` (emptied first). The two
  // vectors trade places, so each keeps its capacity: a steady stream of frames allocates
  // nothing, where a fresh vector per drain regrew the producers' one from empty every batch.
  void TakeInto(std::vector<Outbound>& batch) {
    // Cleared before draining (seq_cst, see Push): a producer that pushes after the swap wakes us again.
    wake_scheduled_.store(false);
    batch.clear();
    std::lock_guard<std::mutex> lk(mu_);
    batch.swap(items_);
  }

 private:
  std::mutex mu_;
  std::vector<Outbound> items_;  // guarded by mu_
  // True while a wake is scheduled and its drain has not started.
  std::atomic<bool> wake_scheduled_{false};
};

}  // namespace phpa
