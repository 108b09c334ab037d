// BodyPool (see body_pool.h) and the bridge call PHP threads take blocks with.
#include "body_pool.h"

#include <stdlib.h>

#include "../php/phpa_bridge.h"

namespace phpa {

BodyPool& BodyPool::Get() {
  static BodyPool* pool = new BodyPool();  // never destroyed: blocks may come back at exit
  return *pool;
}

int BodyPool::ClassOf(size_t len) {
  if (len > (size_t{1} << kMaxShift)) return -1;
  size_t shift = kMinShift;
  while ((size_t{1} << shift) < len) shift++;
  return static_cast<int>(shift - kMinShift);
}

char* BodyPool::Alloc(size_t len) {
  const int c = ClassOf(len);
  if (c < 0) return static_cast<char*>(malloc(len));
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!free_[c].empty()) {
      char* p = free_[c].back();
      free_[c].pop_back();
      cached_ -= size_t{1} << (c + kMinShift);
      return p;
    }
  }
  return static_cast<char*>(malloc(size_t{1} << (c + kMinShift)));
}

void BodyPool::Free(char* p, size_t len) {
  if (p == nullptr) return;
  const int c = ClassOf(len);
  if (c >= 0) {
    const size_t size = size_t{1} << (c + kMinShift);
    std::lock_guard<std::mutex> lk(mu_);
    if (cached_ + size <= kMaxCached) {
      free_[c].push_back(p);
      cached_ += size;
      return;
    }
  }
  free(p);
}

}  // namespace phpa

extern "C" char* phpa_host_body_alloc(size_t len) { return phpa::BodyPool::Get().Alloc(len); }
