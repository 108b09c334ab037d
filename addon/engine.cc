#include "engine.h"

#include "body_pool.h"
#include "signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace phpa {

std::atomic<Engine*> Engine::live_{nullptr};

namespace {

// Where an argument check fails, the message is fixed so tests and users can match it.
[[noreturn]] void ThrowType(Napi::Env env, const char* msg) { throw Napi::TypeError::New(env, msg); }

// A Buffer over a frame's body block (malloc'd by the PHP thread, owned by the host). V8
// counts every ArrayBuffer as external memory and runs full GCs to reclaim it (measured: 61
// mark-compacts in 3 s at ~400 1 MiB responses/s, one for Fastify sending one preallocated
// Buffer). Collecting these Buffers frees nothing: the block is freed by release(handle), as
// soon as the socket is done with it. So the count is taken back at creation and given back
// when the Buffer is collected (net zero), and the Buffers no longer drive V8's GC.
napi_value BodyBuffer(napi_env env, const char* ptr, size_t len) {
  napi_value buf;
  napi_status st = napi_create_external_buffer(
      env, len, const_cast<char*>(ptr),
      [](napi_env e, void*, void* hint) {
        int64_t ignored;
        napi_adjust_external_memory(e, static_cast<int64_t>(reinterpret_cast<uintptr_t>(hint)), &ignored);
      },
      reinterpret_cast<void*>(static_cast<uintptr_t>(len)), &buf);
  if (st != napi_ok) throw Napi::Error::New(env, "cannot create a Buffer over a response body");
  int64_t ignored;
  napi_adjust_external_memory(env, -static_cast<int64_t>(len), &ignored);
  return buf;
}

// Body chunks up to this size may travel as one latin1 string (cheap, and Node writes it with
// the head in one write()). A larger one always travels as a Buffer over its block, whatever
// copy_threshold says: a V8 string stops at 2^29-24 chars (a 512 MiB body once went out as
// ""), and a string that large costs one more copy into V8's heap.
constexpr size_t kMaxStringChunk = size_t{64} << 20;

// A failed napi call may leave a JS exception pending (V8 throws "Invalid string length"):
// clear it and throw in C++, so the frame fails alone and later calls into JS still work.
void Check(napi_env env, napi_status st, const char* what) {
  if (st == napi_ok) return;
  bool pending = false;
  napi_value ignored;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
  throw Napi::Error::New(env, std::string("cannot create ") + what);
}

// Frees one chunk's bytes, whichever way the PHP thread allocated them (see phpa_chunk).
void FreeChunk(phpa_chunk& c) {
  char* p = const_cast<char*>(c.ptr);
  if (c.owner == PHPA_HOST_BLOCK) BodyPool::Get().Free(p, c.len);
  else free(p);
  c.ptr = nullptr;
}

// Frees the bodies JS sent in place (the short chunks were freed when they were copied).
void FreeBodies(phpa_frame* f) {
  for (uint32_t i = 0; i < f->nchunks; i++) FreeChunk(f->chunks[i]);
}

// An error log line for request `id` through the onEvent listener (stderr if that throws too).
void LogError(Napi::Env env, Napi::FunctionReference& on_event, int thread, uint64_t id, const std::string& message) {
  try {
    on_event.Call({Napi::Number::New(env, PHPA_EVENT_LOG), Napi::Number::New(env, thread),
                   Napi::Number::New(env, PHPA_LOG_ERROR), Napi::Number::New(env, static_cast<double>(id)),
                   Napi::String::New(env, message)});
  } catch (const Napi::Error& err) {
    fprintf(stderr, "phpasync: %s (and the event listener threw: %s)\n", message.c_str(), err.Message().c_str());
  }
}

}  // namespace

bool ClaimPhpStart() {
  // PHP's module startup is once per process: a second one after shutdown is not safe.
  static std::atomic<bool> started{false};
  return !started.exchange(true);
}

Napi::Function Engine::Init(Napi::Env env) {
  return DefineClass(env, "Engine",
                     {
                         InstanceMethod<&Engine::Start>("start"),
                         InstanceMethod<&Engine::Submit>("submit"),
                         InstanceMethod<&Engine::Release>("release"),
                         InstanceMethod<&Engine::Stop>("stop"),
                         InstanceMethod<&Engine::Cancel>("cancel"),
                         InstanceMethod<&Engine::Join>("join"),
                         InstanceMethod<&Engine::Stats>("stats"),
                         InstanceMethod<&Engine::FlushWakes>("flushWakes"),
                     });
}

Engine::Engine(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Engine>(info) {
  Napi::Env env = info.Env();
  EngineOptions o = ParseEngineOptions(info);
  const uint32_t threads = o.threads;
  config_.max_coroutines = o.max_coroutines;
  config_.copy_threshold = o.copy_threshold;
  config_.request_timeout_ms = o.request_timeout_ms;
  config_.max_requests = o.max_requests;
  config_.max_consecutive_failures = o.max_consecutive_failures;
  worker_file_ = std::move(o.worker_file);
  document_root_ = std::move(o.document_root);
  config_.mode = o.mode;
  ini_entries_ = std::move(o.ini_entries);
  env_strings_ = std::move(o.env);
  for (auto& s : env_strings_) env_ptrs_.push_back(s.c_str());
  env_ptrs_.push_back(nullptr);

  if (threads > 1 && !phpa_php_is_zts()) {
    throw Napi::Error::New(env,
                           "this PHP is NTS (not thread-safe): it can run only one PHP thread per process, "
                           "so an async worker's num must be 1 (several processes are not supported yet)");
  }
  Engine* expected = nullptr;
  if (!live_.compare_exchange_strong(expected, this, std::memory_order_acq_rel)) {
    throw Napi::Error::New(env, "PHP is already running in this process: one Engine per process");
  }
  if (!ClaimPhpStart()) {
    live_.store(nullptr);
    throw Napi::Error::New(env, "PHP cannot be started twice in one process (it was shut down already)");
  }

  config_.threads = static_cast<int>(threads);
  config_.worker_file = worker_file_.c_str();
  config_.document_root = document_root_.c_str();
  config_.ini_entries = ini_entries_.c_str();
  config_.env = env_ptrs_.data();

  for (uint32_t i = 0; i < threads; i++) {
    std::unique_ptr<ThreadSlot> s;
    try {
      s = std::make_unique<ThreadSlot>(o.buffer_size);
    } catch (const std::bad_alloc&) {
      live_.store(nullptr);
      throw Napi::RangeError::New(env, "options.bufferSize: out of memory for a ring that large");
    }
    if (int err = s->notifier.Open()) {
      live_.store(nullptr);
      throw Napi::Error::New(env, std::string("cannot create the thread notifier: ") + strerror(err));
    }
    slots_.push_back(std::move(s));
  }
  on_frame_ = Napi::Persistent(o.on_frame);
  on_event_ = Napi::Persistent(o.on_event);
  tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                        "phpasync-outbound", 0, 1);
  tsfn_.Unref(env);  // start() refs it while threads run
  trace_ = getenv("PHPASYNC_TRACE_LATENCY") != nullptr;
  if (const char* w = getenv("PHPASYNC_WAKE")) {
    wake_mode_ = strcmp(w, "now") == 0 ? kWakeEvery : strcmp(w, "turn") == 0 ? kWakeTurnEnd : kWakeBurst;
  }
}

Engine::~Engine() {
  // Normally stop() + join() ran already. If JS dropped the engine (or the process is
  // exiting), stop the threads and give them a moment; a thread stuck in PHP is left behind.
  if (started_ && !joined_) {
    RequestStop();
    JoinFor(2000);
  }
  held_.Drain([](phpa_frame* f) {
    FreeBodies(f);
    free(f);
  });
  if (!joined_ && started_) {
    // A thread still runs (stuck in PHP) and reads its slot: leak the slots rather than free
    // memory under it.
    for (auto& sp : slots_) (void)sp.release();
    return;
  }
  if (live_.load() == this) live_.store(nullptr);
}

Napi::Value Engine::Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (started_) throw Napi::Error::New(env, "Engine.start(): already started");
  started_ = true;
  tsfn_.Ref(env);
  sigset_t old;
  BlockAsyncSignals(&old);  // the new threads inherit the blocked mask
  for (size_t i = 0; i < slots_.size(); i++) {
    slots_[i]->thread = std::thread([this, i] { ThreadMain(static_cast<int>(i)); });
  }
  RestoreSignals(&old);
  return env.Undefined();
}

void Engine::ThreadMain(int t) {
#if defined(__linux__)
  // "php-N" in top -H, perf and /proc/<pid>/task/*/comm (names are at most 15 bytes).
  char name[16];
  snprintf(name, sizeof name, "php-%d", t);
  pthread_setname_np(pthread_self(), name);
#endif
  if (t == 0) {
    char err[512] = {0};
    int rc = phpa_php_module_startup(&config_, err, sizeof err);
    {
      std::lock_guard<std::mutex> lk(life_mu_);
      module_state_ = rc == 0 ? 1 : -1;
    }
    life_cv_.notify_all();
    if (rc != 0) phpa_host_event(0, PHPA_EVENT_FAILED, PHPA_LOG_ERROR, 0, err, strlen(err));
  } else {
    std::unique_lock<std::mutex> lk(life_mu_);
    life_cv_.wait(lk, [this] { return module_state_ != 0; });
  }
  int state;
  {
    std::lock_guard<std::mutex> lk(life_mu_);
    state = module_state_;
  }
  if (state == 1) phpa_php_thread_main(t);
  {
    std::unique_lock<std::mutex> lk(life_mu_);
    threads_done_++;
    life_cv_.notify_all();
    if (t == 0 && state == 1) {
      // The module outlives every thread that uses it.
      life_cv_.wait(lk, [this] { return threads_done_ == static_cast<int>(slots_.size()); });
      lk.unlock();
      phpa_php_module_shutdown();
    }
  }
  phpa_host_event(t, PHPA_EVENT_EXITED, PHPA_LOG_DEBUG, 0, "", 0);
}

// Or'ed into submit()'s thread index when the request's wake waits for flushWakes().
constexpr int kWakeDeferred = 1 << 16;

// submit(id, envelope, bodyAt, body): the envelope holds nil at bodyAt where the body goes (see
// src/server/envelope.ts); with a body, that nil becomes the body's bin here, as both are
// copied into the job, so the body is copied once on its way to PHP.
Napi::Value Engine::Submit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsTypedArray() || !info[2].IsNumber() ||
      !(info[3].IsTypedArray() || info[3].IsNull())) {
    ThrowType(env, "submit(id, envelope, bodyAt, body): id and bodyAt must be numbers, envelope a Uint8Array and body a Uint8Array or null");
  }
  if (stopping_ || !started_) return Napi::Number::New(env, -2);
  const int64_t id = info[0].As<Napi::Number>().Int64Value();
  Napi::Uint8Array env_bytes = info[1].As<Napi::Uint8Array>();
  const uint8_t* head = env_bytes.Data();
  const size_t env_len = env_bytes.ByteLength();
  const int64_t at = info[2].As<Napi::Number>().Int64Value();
  if (at < 0 || static_cast<size_t>(at) >= env_len || head[at] != 0xc0) {
    ThrowType(env, "submit(): bodyAt must point at the envelope's nil (the body's place)");
  }
  const size_t body_at = static_cast<size_t>(at);
  const bool has_body = info[3].IsTypedArray();
  const uint8_t* body = nullptr;  // may be null for an empty body
  size_t body_len = 0;
  if (has_body) {
    Napi::Uint8Array b = info[3].As<Napi::Uint8Array>();
    body = b.Data();
    body_len = b.ByteLength();
  }
  // With a body, its 5-byte bin32 header and bytes replace the 1-byte nil.
  const size_t len = env_len + (has_body ? 4 + body_len : 0);
  if (len > UINT32_MAX) throw Napi::RangeError::New(env, "submit(): a request envelope over 4 GiB");
  const size_t n = slots_.size();
  // Round-robin, starting after the thread used last; the first ring with room wins.
  for (size_t k = 1; k <= n; k++) {
    const size_t t = (next_thread_ + k) % n;
    ThreadSlot& s = *slots_[t];
    if (s.ring.SizeForProducer() >= s.capacity) continue;
    auto* job = static_cast<phpa_job*>(malloc(sizeof(phpa_job) + len));
    if (job == nullptr) throw Napi::Error::New(env, "out of memory");
    job->id = static_cast<uint64_t>(id);
    job->kind = PHPA_JOB_REQUEST;
    job->len = static_cast<uint32_t>(len);
    if (!has_body) {
      memcpy(job->data, head, env_len);
    } else {
      unsigned char* p = reinterpret_cast<unsigned char*>(job->data);
      memcpy(p, head, body_at);
      p += body_at;
      p[0] = 0xc6;  // bin 32, big-endian length
      p[1] = static_cast<unsigned char>(body_len >> 24);
      p[2] = static_cast<unsigned char>(body_len >> 16);
      p[3] = static_cast<unsigned char>(body_len >> 8);
      p[4] = static_cast<unsigned char>(body_len);
      if (body_len > 0) memcpy(p + 5, body, body_len);
      memcpy(p + 5 + body_len, head + body_at + 1, env_len - body_at - 1);
    }
    if (!s.ring.TryPush(job, s.capacity)) {  // cannot fail: we are the only producer
      free(job);
      continue;
    }
    s.submitted.fetch_add(1, std::memory_order_relaxed);
    // A parked consumer is woken at once on the first request of a burst: it starts on it (on
    // another core) while this thread still reads the rest. The burst's later requests wake it
    // again only once its ring is 3/4 full; the others' wake is deferred (the return value
    // says so) to the end of the event-loop turn, where JS calls flushWakes() once for all of
    // them (php-engine.ts, turnEnd). A burst ends there, or when PHP's frames come back
    // (Dispatch): PHP has answered, so a request after that is the first of a new burst.
    // Measured, hello-world at c=50, 6 alternated rounds (load 4-5): main-thread CPU per
    // request 24.4 us against 27.8 when every request woke a parked thread (1.09 eventfd writes
    // and 0.8 involuntary context switches of this thread per request; now 0.26 and 0.15),
    // 22.3k req/s against 19.3k. Without the half-full wake (first request, then end of turn)
    // the ring filled within a turn and the rest waited for submit()'s 1 ms retry: 17.9k req/s.
    // The PHP thread empties its ring faster than this thread fills it, so it parks again and
    // again within a burst: with the half-full wake it was woken once per ~capacity/2 requests.
    // At 3/4 (alternated runs, 3 each of 100k hello requests at c=50, 4 each of 60k /delay at
    // c=200): PHP-thread parks per request 0.13-0.15 -> 0.12-0.14 (hello), 0.13-0.18 ->
    // 0.11-0.12 (/delay, where this thread's involuntary switches went 0.13-0.17 -> 0.08);
    // requests that waited for a full ring 6.9-8.6 % -> 6.1-7.2 % (hello).
    // PHPASYNC_WAKE=now|turn (every request; only the end of the turn) is for measurements.
    bool deferred = false;
    if (wake_mode_ == kWakeEvery ||
        (wake_mode_ == kWakeBurst && (!s.woken_this_turn || s.ring.SizeForProducer() * 4 >= s.capacity * 3))) {
      if (s.WakeIfParked()) s.woken_this_turn = true;
    } else {
      deferred = true;
    }
    next_thread_ = t;
    return Napi::Number::New(env, static_cast<double>(deferred ? (t | kWakeDeferred) : t));
  }
  return Napi::Number::New(env, -1);  // every ring is full: the caller answers 503
}

// Wakes every parked thread that has jobs waiting, and starts a new turn for submit()'s
// wake: JS calls it at the end of each event-loop turn that submitted, and when a request
// waits for a full ring.
Napi::Value Engine::FlushWakes(const Napi::CallbackInfo& info) {
  for (auto& sp : slots_) {
    sp->woken_this_turn = false;
    if (sp->ring.SizeForProducer() > 0) sp->WakeIfParked();
  }
  return info.Env().Undefined();
}

Napi::Value Engine::Release(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) ThrowType(env, "release(handle[, unsent]): handle must be a number");
  phpa_frame* f = held_.Take(info[0].As<Napi::Number>().DoubleValue());
  if (f == nullptr) throw Napi::Error::New(env, "release(handle): this buffer handle was already released or never issued");
  // unsent: the connection closed before the frame was written (see PHPA_FRAME_UNSENT).
  if (info.Length() > 1 && info[1].ToBoolean().Value()) f->flags |= PHPA_FRAME_UNSENT;
  // The socket is done with the bytes (written, or the connection is gone): free them here,
  // on the JS thread. Only a streamed frame goes back to its PHP thread (back-pressure count).
  FreeBodies(f);
  if (f->stream == nullptr) {
    free(f);
    return env.Undefined();
  }
  ThreadSlot& s = *slots_[static_cast<size_t>(f->thread)];
  {
    std::lock_guard<std::mutex> lk(s.released_mu);
    s.released.push_back(f);
  }
  s.released_count.fetch_add(1, std::memory_order_seq_cst);
  s.WakeIfParked();
  return env.Undefined();
}

void Engine::RequestStop() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& sp : slots_) {
    ThreadSlot& s = *sp;
    s.stop.store(1, std::memory_order_seq_cst);
    auto* job = static_cast<phpa_job*>(malloc(sizeof(phpa_job)));
    if (job == nullptr) continue;  // out of memory: that thread stops only with the process
    job->id = 0;
    job->kind = PHPA_JOB_STOP;
    job->len = 0;
    // The ring keeps one slot beyond buffer_size, so the sentinel always fits.
    if (!s.ring.TryPush(job, s.capacity + 1)) free(job);
    s.notifier.Signal();  // unconditional: the thread may be parked or about to park
  }
}

// cancel(thread, id): the client of request `id` (sent to `thread`) went away before its
// response ended. The PHP thread drops it if it has not started, or interrupts its handler.
Napi::Value Engine::Cancel(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsNumber() || !info[1].IsNumber()) {
    ThrowType(env, "cancel(thread, id): thread and id must be numbers");
  }
  const int64_t t = info[0].As<Napi::Number>().Int64Value();
  const int64_t id = info[1].As<Napi::Number>().Int64Value();
  if (t < 0 || t >= static_cast<int64_t>(slots_.size())) throw Napi::RangeError::New(env, "cancel(thread, id): no such thread");
  if (!started_ || joined_) return env.Undefined();
  ThreadSlot& s = *slots_[static_cast<size_t>(t)];
  {
    std::lock_guard<std::mutex> lk(s.cancelled_mu);
    s.cancelled.push_back(static_cast<uint64_t>(id));
    s.cancelled_count.store(s.cancelled.size(), std::memory_order_relaxed);
  }
  phpa_php_interrupt(static_cast<int>(t));  // a running handler sees it at its next VM check
  s.notifier.Signal();  // a parked thread wakes to interrupt a suspended handler (phpa_limits_tick)
  return env.Undefined();
}

Napi::Value Engine::Stop(const Napi::CallbackInfo& info) {
  if (started_) RequestStop();
  return info.Env().Undefined();
}

bool Engine::JoinFor(int ms) {
  std::unique_lock<std::mutex> lk(life_mu_);
  bool done = life_cv_.wait_for(lk, std::chrono::milliseconds(ms),
                                [this] { return threads_done_ == static_cast<int>(slots_.size()); });
  lk.unlock();
  if (!done) {
    for (auto& s : slots_) {
      if (s->thread.joinable()) s->thread.detach();
    }
    return false;
  }
  for (auto& s : slots_) {
    if (s->thread.joinable()) s->thread.join();
  }
  joined_ = true;
  return true;
}

Napi::Value Engine::Join(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!started_ || joined_) return Napi::Boolean::New(env, true);
  int ms = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 5000;
  bool ok = JoinFor(ms);
  if (ok) {
    // Deliver what the threads sent last (EXITED events), then let the loop go.
    Dispatch(env);
    tsfn_.Release();
  }
  return Napi::Boolean::New(env, ok);
}

Napi::Value Engine::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  uint64_t outstanding = 0;
  Napi::Array threads = Napi::Array::New(env, slots_.size());
  for (size_t i = 0; i < slots_.size(); i++) {
    ThreadSlot& s = *slots_[i];
    Napi::Object t = Napi::Object::New(env);
    t.Set("queued", Napi::Number::New(env, static_cast<double>(s.ring.SizeForProducer())));
    t.Set("submitted", Napi::Number::New(env, static_cast<double>(s.submitted.load(std::memory_order_relaxed))));
    t.Set("wakes", Napi::Number::New(env, static_cast<double>(s.wakes)));
    uint64_t out = s.outstanding.load(std::memory_order_relaxed);
    t.Set("outstandingBuffers", Napi::Number::New(env, static_cast<double>(out)));
    outstanding += out;
    threads.Set(static_cast<uint32_t>(i), t);
  }
  o.Set("threads", threads);
  o.Set("outstandingBuffers", Napi::Number::New(env, static_cast<double>(outstanding)));
  o.Set("dispatches", Napi::Number::New(env, static_cast<double>(dispatches_)));
  o.Set("framesDelivered", Napi::Number::New(env, static_cast<double>(frames_delivered_)));
  if (trace_ && !trace_out_wait_us_.empty()) {
    // Percentiles of the wait from a PHP thread's push to JS's onFrame (PHPASYNC_TRACE_LATENCY).
    std::vector<uint32_t> v = trace_out_wait_us_;
    std::sort(v.begin(), v.end());
    Napi::Object w = Napi::Object::New(env);
    w.Set("n", Napi::Number::New(env, static_cast<double>(v.size())));
    w.Set("p50", Napi::Number::New(env, v[v.size() / 2]));
    w.Set("p90", Napi::Number::New(env, v[v.size() * 9 / 10]));
    w.Set("p99", Napi::Number::New(env, v[v.size() * 99 / 100]));
    o.Set("traceFramePushToJsUs", w);
  }
  o.Set("heldByJs", Napi::Number::New(env, static_cast<double>(held_.Held())));
  return o;
}

// ---- outbound: PHP threads -> JS -----------------------------------------------------------

static uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

void Engine::Send(Outbound item) {
  if (trace_) item.pushed_ns = MonotonicNs();
  if (out_.Push(std::move(item))) {
    tsfn_.NonBlockingCall([this](Napi::Env env, Napi::Function) { Dispatch(env); });
  }
}

void Engine::Dispatch(Napi::Env env) {
  // The spare vector (empty if a Dispatch up the stack holds it: join() from an event
  // listener drains again), given back at the end for its capacity.
  std::vector<Outbound> batch;
  batch.swap(batch_);
  out_.TakeInto(batch);
  for (auto& sp : slots_) sp->woken_this_turn = false;  // a new burst starts (see Submit)
  Napi::HandleScope scope(env);
  dispatches_++;
  // The listener once per batch, in this scope: a FunctionReference::Call per frame would
  // open and close an escapable scope each time.
  napi_value on_frame = nullptr;
  for (Outbound& item : batch) {
    if (item.frame != nullptr) {
      frames_delivered_++;
      if (trace_ && trace_out_wait_us_.size() < (1u << 22)) {
        trace_out_wait_us_.push_back(static_cast<uint32_t>((MonotonicNs() - item.pushed_ns) / 1000));
      }
      if (on_frame == nullptr) on_frame = on_frame_.Value();
      DeliverFrame(env, on_frame, item.frame);  // catches its own failures
      continue;
    }
    Event& e = *item.event;
    // A throwing listener must not drop the rest of the batch (other requests' frames).
    try {
      on_event_.Call({Napi::Number::New(env, e.kind), Napi::Number::New(env, e.thread), Napi::Number::New(env, e.level),
                      Napi::Number::New(env, static_cast<double>(e.request_id)), Napi::String::New(env, e.message)});
    } catch (const Napi::Error& err) {
      fprintf(stderr, "phpasync: the event listener threw: %s\n", err.Message().c_str());
    }
  }
  batch.clear();
  if (batch.capacity() > batch_.capacity()) batch_.swap(batch);
}

// One frame to JS. Whatever fails here fails this frame alone: building its values (JS is
// told through onFrame's `error` argument and answers the request 500) or onFrame itself
// throwing (logged). Never an exception out of here: the rest of the batch still goes out.
void Engine::DeliverFrame(Napi::Env env, napi_value on_frame, phpa_frame* f) {
  Napi::Value headers = env.Undefined();
  Napi::Value body = env.Undefined();
  bool in_place = false;  // a chunk is sent from its block: the frame needs a release handle
  std::string error;
  try {
    // No headers: undefined rather than an empty array (JS reads `headers ?? []`).
    if ((f->flags & PHPA_FRAME_HEAD) && f->header_count > 0) {
      // name, value, … as one string joined by NUL bytes, split in JS: one string rather than
      // two per header, and no napi_set_element (about 1,000 instructions per element under
      // callgrind). Names are tokens and values refuse control bytes (php/server/response.c,
      // PHP's header()); a NUL in one anyway gets the array of strings.
      const uint32_t n = f->header_count * 2;
      head_joined_.clear();
      const char* p = f->headers;
      bool has_nul = false;
      for (uint32_t i = 0; i < n && !has_nul; i++) {
        uint32_t len;
        memcpy(&len, p, sizeof len);
        p += sizeof len;
        has_nul = memchr(p, '\0', len) != nullptr;
        if (i > 0) head_joined_.push_back('\0');
        head_joined_.append(p, len);
        p += len;
      }
      napi_value s;
      if (!has_nul) {
        // latin1: header bytes reach the socket unchanged (Node writes headers as latin1).
        Check(env, napi_create_string_latin1(env, head_joined_.data(), head_joined_.size(), &s), "the response headers");
        headers = Napi::Value(env, s);
      } else {
        Napi::Array a = Napi::Array::New(env, n);
        p = f->headers;
        for (uint32_t i = 0; i < n; i++) {
          uint32_t len;
          memcpy(&len, p, sizeof len);
          p += sizeof len;
          Check(env, napi_create_string_latin1(env, p, len, &s), "a response header string");
          a.Set(i, Napi::Value(env, s));
          p += len;
        }
        headers = a;
      }
    }
    if (f->nchunks > 0) {
      auto make = [&](phpa_chunk& c) -> Napi::Value {
        if (c.len < config_.copy_threshold && c.len <= kMaxStringChunk) {
          // Short bodies travel as a latin1 string: one byte per char, no ArrayBuffer to
          // allocate and track, and Node writes a string body with the head in one write().
          napi_value str;
          napi_status st = napi_create_string_latin1(env, c.ptr, c.len, &str);
          FreeChunk(c);
          Check(env, st, "a response body string");
          return Napi::Value(env, str);
        }
        // No copy: Node sends from the block until JS calls release(handle), which frees it.
        in_place = true;
        return Napi::Value(env, BodyBuffer(env, c.ptr, c.len));
      };
      if (f->nchunks == 1) {
        body = make(f->chunks[0]);
      } else {
        Napi::Array a = Napi::Array::New(env, f->nchunks);
        for (uint32_t i = 0; i < f->nchunks; i++) a.Set(i, make(f->chunks[i]));
        body = a;
      }
    }
  } catch (const Napi::Error& e) {
    error = e.Message();
    headers = env.Undefined();
    body = env.Undefined();
  }
  free(f->headers);
  f->headers = nullptr;
  if (!error.empty()) {
    // Nothing of the body goes out: free every block now (a Buffer already made over one is
    // dropped unused); only a streamed frame still needs its handle.
    FreeBodies(f);
    in_place = false;
  }

  double handle = 0;
  const bool hand_back = in_place || f->stream != nullptr;  // see phpa_bridge.h, streaming
  if (hand_back) {
    handle = held_.Add(f);
  }
  const uint64_t id = f->id;
  const int thread = f->thread;
  const uint32_t flags = f->flags;
  const int status = f->status;
  if (!hand_back) free(f);
  try {
    Napi::Function(env, on_frame)
        .Call({Napi::Number::New(env, static_cast<double>(id)), Napi::Number::New(env, flags), Napi::Number::New(env, status),
               headers, body, Napi::Number::New(env, handle), error.empty() ? env.Undefined() : Napi::String::New(env, error)});
  } catch (const Napi::Error& e) {
    LogError(env, on_event_, thread, id, "delivering a response frame to Node threw: " + e.Message());
  }
}

}  // namespace phpa
