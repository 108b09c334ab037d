// BodyPool: the blocks response bodies travel in from a PHP thread to the socket. A PHP
// thread takes one at end()/flush() (phpa_host_body_alloc), the JS thread gives it back when
// the socket is done with it. Freed blocks are kept for reuse, up to a bound: with plain
// malloc/free each 1 MiB body cost ~40 page faults (glibc trims the arena the JS thread frees
// into, and the next body faults its pages in again), about 200 us of a ~500 us request.
#pragma once

#include <cstddef>
#include <mutex>
#include <vector>

namespace phpa {

class BodyPool {
 public:
  // Bodies up to 32 MiB are pooled, in power-of-two classes from 64 KiB.
  static constexpr size_t kMinShift = 16;
  static constexpr size_t kMaxShift = 25;
  // Free blocks kept at most (bytes, all classes together).
  static constexpr size_t kMaxCached = size_t{32} << 20;

  static BodyPool& Get();
  // Any thread. nullptr when out of memory.
  char* Alloc(size_t len);
  // Any thread; len is the one given to Alloc.
  void Free(char* p, size_t len);

 private:
  static int ClassOf(size_t len);  // -1: not pooled
  std::mutex mu_;
  std::vector<char*> free_[kMaxShift - kMinShift + 1];  // guarded by mu_
  size_t cached_ = 0;                                    // guarded by mu_
};

}  // namespace phpa
