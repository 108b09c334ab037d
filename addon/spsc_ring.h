// Bounded single-producer/single-consumer ring of pointers.
// Producer: the JS main thread (submit). Consumer: one PHP thread (scheduler tick).
// Storage is a power of two so an index is a mask away; the logical bound (`limit` on push)
// may be smaller, which lets one extra slot be kept for the shutdown sentinel.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace phpa {

template <typename T>
class SpscRing {
 public:
  explicit SpscRing(size_t min_slots) {
    size_t n = 1;
    while (n < min_slots) n <<= 1;
    mask_ = n - 1;
    slots_.reset(new T[n]());
  }

  // Producer only. Fails when `limit` items are already queued.
  bool TryPush(T value, size_t limit) {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);  // only we write tail_
    if (tail - head_cache_ >= limit) {
      // acquire: pairs with the consumer's release store of head_, so the slot it freed is
      // really no longer being read before we overwrite it.
      head_cache_ = head_.load(std::memory_order_acquire);
      if (tail - head_cache_ >= limit || tail - head_cache_ > mask_) return false;
    }
    slots_[tail & mask_] = value;
    // release: the slot's contents become visible before the consumer can see the new tail.
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }

  // Producer only: how many items are queued (may be stale-high, never stale-low).
  size_t SizeForProducer() {
    head_cache_ = head_.load(std::memory_order_acquire);  // acquire: see the consumer's progress
    return static_cast<size_t>(tail_.load(std::memory_order_relaxed) - head_cache_);
  }

  // Consumer only. Returns false when empty.
  bool TryPop(T* out) {
    const uint64_t head = head_.load(std::memory_order_relaxed);  // only we write head_
    if (head == tail_cache_) {
      // acquire: pairs with the producer's release store of tail_, making the slot's
      // contents visible before we read them.
      tail_cache_ = tail_.load(std::memory_order_acquire);
      if (head == tail_cache_) return false;
    }
    *out = slots_[head & mask_];
    // release: our read of the slot happens-before the producer reuses it.
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

  // Consumer only, used by the park handshake after a seq_cst fence.
  bool EmptyForConsumer() const {
    // acquire: a push observed here is a push whose slot we can read.
    return tail_.load(std::memory_order_acquire) == head_.load(std::memory_order_relaxed);
  }

 private:
  std::unique_ptr<T[]> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<uint64_t> tail_{0};  // next slot to fill; written by the producer
  uint64_t head_cache_ = 0;                    // producer's last view of head_
  alignas(64) std::atomic<uint64_t> head_{0};  // next slot to read; written by the consumer
  uint64_t tail_cache_ = 0;                    // consumer's last view of tail_
};

}  // namespace phpa
