// Reading `new Engine(options)`: see engine_options.h.
#include "engine_options.h"

#include <cmath>

namespace phpa {

namespace {

[[noreturn]] void ThrowType(Napi::Env env, const char* msg) { throw Napi::TypeError::New(env, msg); }

// An integer number in lo..hi (the bounds of the C type it goes into), else TypeError(msg).
double Integer(Napi::Object o, const char* key, double lo, double hi, const char* msg) {
  Napi::Value v = o.Get(key);
  if (!v.IsNumber()) ThrowType(o.Env(), msg);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || std::trunc(d) != d) ThrowType(o.Env(), msg);
  return d;
}

constexpr double kU32Max = 4294967295.0;

}  // namespace

EngineOptions ParseEngineOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) ThrowType(env, "Engine(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  EngineOptions r;
  r.threads = static_cast<uint32_t>(Integer(o, "threads", 1, kU32Max, "options.threads must be a positive integer"));
  r.buffer_size =
      static_cast<uint32_t>(Integer(o, "bufferSize", 1, kU32Max, "options.bufferSize must be a positive integer"));
  r.max_coroutines =
      static_cast<uint32_t>(Integer(o, "maxCoroutines", 1, kU32Max, "options.maxCoroutines must be a positive integer"));
  r.copy_threshold = static_cast<uint32_t>(
      Integer(o, "copyThreshold", 0, kU32Max, "options.copyThreshold must be a non-negative integer"));
  r.request_timeout_ms = static_cast<uint32_t>(Integer(
      o, "requestTimeoutMs", 0, kU32Max, "options.requestTimeoutMs must be a non-negative integer (0 = no timeout)"));
  r.max_requests = static_cast<uint64_t>(
      Integer(o, "maxRequests", 0, 9007199254740991.0, "options.maxRequests must be a non-negative integer (0 = never)"));
  r.max_consecutive_failures = static_cast<int>(Integer(o, "maxConsecutiveFailures", -1, 2147483647.0,
                                                        "options.maxConsecutiveFailures must be an integer >= -1 (-1 = no limit)"));

  r.mode = static_cast<int>(Integer(o, "mode", PHPA_MODE_ASYNC_WORKER, PHPA_MODE_SCRIPTS,
                                    "options.mode must be one of constants.MODE_ASYNC_WORKER, MODE_CLASSIC_WORKER, MODE_SCRIPTS"));
  // Scripts mode has a document root and no worker file; the worker modes the reverse.
  const bool scripts = r.mode == PHPA_MODE_SCRIPTS;
  Napi::Value wf = o.Get("workerFile");
  if (!wf.IsString() || (wf.As<Napi::String>().Utf8Value().empty() != scripts)) {
    ThrowType(env, "options.workerFile must be a non-empty string in the worker modes and \"\" in scripts mode");
  }
  r.worker_file = wf.As<Napi::String>().Utf8Value();
  // A classic worker may have one too: its site's root, for $_SERVER (SCRIPT_NAME, DOCUMENT_ROOT).
  Napi::Value dr = o.Get("documentRoot");
  const bool dr_empty = dr.IsString() && dr.As<Napi::String>().Utf8Value().empty();
  if (!dr.IsString() || (scripts && dr_empty) || (r.mode == PHPA_MODE_ASYNC_WORKER && !dr_empty)) {
    ThrowType(env, "options.documentRoot must be a non-empty string in scripts mode and \"\" in an async worker");
  }
  r.document_root = dr.As<Napi::String>().Utf8Value();
  Napi::Value ini = o.Get("iniEntries");
  if (!ini.IsString()) ThrowType(env, "options.iniEntries must be a string");
  r.ini_entries = ini.As<Napi::String>().Utf8Value();
  Napi::Value ev = o.Get("env");
  if (!ev.IsArray()) ThrowType(env, "options.env must be an array of \"KEY=VALUE\" strings");
  Napi::Array a = ev.As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value s = a.Get(i);
    if (!s.IsString()) ThrowType(env, "options.env must be an array of \"KEY=VALUE\" strings");
    r.env.push_back(s.As<Napi::String>().Utf8Value());
  }
  Napi::Value of = o.Get("onFrame");
  Napi::Value oe = o.Get("onEvent");
  if (!of.IsFunction()) ThrowType(env, "options.onFrame must be a function");
  if (!oe.IsFunction()) ThrowType(env, "options.onEvent must be a function");
  r.on_frame = of.As<Napi::Function>();
  r.on_event = oe.As<Napi::Function>();
  return r;
}

}  // namespace phpa
