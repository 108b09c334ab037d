// The options object of `new Engine(options)`, read into C++ values. Every option must be
// given: defaults and ranges are the caller's (src/config/defaults.ts). Only types are checked
// here, plus what the C side needs to hold a value (a count of at least 1, an integer that fits
// its C type); a missing or mistyped option is a TypeError with a fixed message naming it.
#pragma once

#include <napi.h>

#include <string>
#include <vector>

#include "../php/phpa_bridge.h"

namespace phpa {

struct EngineOptions {
  uint32_t threads = 0;
  uint32_t buffer_size = 0;
  uint32_t max_coroutines = 0;
  uint32_t copy_threshold = 0;
  uint32_t request_timeout_ms = 0;
  uint64_t max_requests = 0;
  int max_consecutive_failures = 0;
  int mode = 0;
  std::string document_root;
  std::string worker_file;
  std::string ini_entries;
  std::vector<std::string> env;
  Napi::Function on_frame;
  Napi::Function on_event;
};

// Throws Napi::TypeError (fixed message) when an option is missing or of the wrong type.
EngineOptions ParseEngineOptions(const Napi::CallbackInfo& info);

}  // namespace phpa
