// Engine: the JS class that owns the PHP threads of this process.
// JS thread: constructor, start, submit, release, stop, join, stats.
// PHP threads: reach the engine only through the phpa_host_* bridge (host.cc).
#pragma once

#include <napi.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "../php/phpa_bridge.h"
#include "engine_options.h"
#include "handle_table.h"
#include "outbound_queue.h"
#include "thread_slot.h"

namespace phpa {

// True the first time it is called in this process: PHP may be started once.
bool ClaimPhpStart();

class Engine : public Napi::ObjectWrap<Engine> {
 public:
  static Napi::Function Init(Napi::Env env);
  explicit Engine(const Napi::CallbackInfo& info);
  ~Engine() override;

  // ---- bridge side (any thread) ----
  static Engine* Live() { return live_.load(std::memory_order_acquire); }
  ThreadSlot& slot(int t) { return *slots_[static_cast<size_t>(t)]; }
  void Send(Outbound item);

 private:
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Submit(const Napi::CallbackInfo& info);
  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value FlushWakes(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Cancel(const Napi::CallbackInfo& info);
  Napi::Value Join(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);

  void ThreadMain(int t);
  void Dispatch(Napi::Env env);
  void DeliverFrame(Napi::Env env, napi_value on_frame, phpa_frame* frame);
  void RequestStop();
  // Waits up to `ms` for every thread to finish; joins them if so. Returns true when joined.
  bool JoinFor(int ms);

  // Live engine for the bridge. PHP itself is process-wide (one NTS interpreter per process),
  // so the thread index handed across the bridge resolves through this one pointer.
  static std::atomic<Engine*> live_;

  // Configuration (strings kept alive for the PHP side).
  std::string worker_file_;
  std::string document_root_;
  std::string ini_entries_;
  std::vector<std::string> env_strings_;
  std::vector<const char*> env_ptrs_;
  phpa_config config_{};

  std::vector<std::unique_ptr<ThreadSlot>> slots_;
  size_t next_thread_ = 0;  // JS thread only: round-robin cursor
  // When submit() wakes a parked thread (see Submit); PHPASYNC_WAKE picks another for measurements.
  enum WakeMode { kWakeBurst, kWakeEvery, kWakeTurnEnd };
  WakeMode wake_mode_ = kWakeBurst;
  bool started_ = false;
  bool stopping_ = false;
  bool joined_ = false;

  // Thread 0 starts PHP's module; the others wait for it (ZTS only).
  std::mutex life_mu_;
  std::condition_variable life_cv_;
  int module_state_ = 0;  // 0 starting, 1 up, -1 failed; guarded by life_mu_
  int threads_done_ = 0;  // guarded by life_mu_

  // Outbound queue: PHP threads push, the JS thread drains in one call per wake.
  OutboundQueue out_;
  // Dispatch's spare batch vector, kept between drains for its capacity (JS thread only).
  std::vector<Outbound> batch_;
  Napi::ThreadSafeFunction tsfn_;
  Napi::FunctionReference on_frame_;
  Napi::FunctionReference on_event_;

  // Statistics: how many wakes delivered how many frames (batching at work). JS thread only.
  uint64_t dispatches_ = 0;
  uint64_t frames_delivered_ = 0;
  // PHPASYNC_TRACE_LATENCY set: frames are stamped when pushed, and the wait until JS
  // receives them is kept (µs, JS thread only) for stats().
  bool trace_ = false;
  std::vector<uint32_t> trace_out_wait_us_;

  // DeliverFrame's joined head, reused frame after frame (JS thread only).
  std::string head_joined_;

  // Frames JS holds (owned chunks in flight), addressed by generation-checked handles.
  HandleTable held_;
};

}  // namespace phpa
