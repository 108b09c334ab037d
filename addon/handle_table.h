// Frames JS holds (a body sent in place, or a streamed frame to hand back), addressed by
// generation-checked handles: a handle released twice, or one never issued, is refused instead
// of freeing a frame twice. JS thread only.
#pragma once

#include <cstdint>
#include <vector>

#include "../php/phpa_bridge.h"

namespace phpa {

class HandleTable {
 public:
  // A handle for `f`: generation << 24 | slot, below 2^52 so a JS number holds it exactly.
  double Add(phpa_frame* f) {
    uint32_t idx;
    if (!free_.empty()) {
      idx = free_.back();
      free_.pop_back();
    } else {
      idx = static_cast<uint32_t>(frames_.size());
      frames_.push_back(nullptr);
      gens_.push_back(1);
    }
    frames_[idx] = f;
    return static_cast<double>((static_cast<uint64_t>(gens_[idx]) << kSlotBits) | idx);
  }

  // The frame behind `handle`, removed from the table; nullptr when the handle is stale or unknown.
  phpa_frame* Take(double handle) {
    const uint64_t h = handle >= 0 ? static_cast<uint64_t>(handle) : ~0ull;
    const uint32_t idx = static_cast<uint32_t>(h & kSlotMask);
    const uint64_t gen = h >> kSlotBits;
    if (idx >= frames_.size() || frames_[idx] == nullptr || gens_[idx] != gen) return nullptr;
    phpa_frame* f = frames_[idx];
    frames_[idx] = nullptr;
    gens_[idx] = (gens_[idx] + 1) % kMaxGen;
    free_.push_back(idx);
    return f;
  }

  // How many frames JS holds now.
  size_t Held() const { return frames_.size() - free_.size(); }

  // Every frame still held (the engine is going away): f(frame) for each, then the table is empty.
  template <typename F>
  void Drain(F f) {
    for (phpa_frame*& p : frames_) {
      if (p != nullptr) f(p);
      p = nullptr;
    }
  }

 private:
  static constexpr uint32_t kSlotBits = 24;
  static constexpr uint32_t kSlotMask = (1u << kSlotBits) - 1;
  static constexpr uint32_t kMaxGen = 1u << 28;  // keeps a handle below 2^52: exact as a JS number

  std::vector<phpa_frame*> frames_;
  std::vector<uint32_t> gens_;
  std::vector<uint32_t> free_;
};

}  // namespace phpa
