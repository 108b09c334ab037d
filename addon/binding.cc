// Module entry: the Engine class plus process-wide facts about the linked PHP.
#include <napi.h>
#include <poll.h>
#include <sys/ioctl.h>
#if defined(__linux__)
#include <linux/sockios.h>
#endif

#include <string>
#include <thread>
#include <vector>

#include "../php/phpa_bridge.h"
#include "engine.h"
#include "signals.h"

namespace {

Napi::Value PhpInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("phpVersion", phpa_php_version());
  o.Set("zts", Napi::Boolean::New(env, phpa_php_is_zts() != 0));
  return o;
}

// runCli(script, args): runs a PHP script to completion on a thread of its own (signals
// blocked there, as for every PHP thread) and returns its exit status. Blocks the caller:
// it is meant for the `phpasync php-cli` command, where PHP is all the process does.
Napi::Value RunCli(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const char* usage =
      "runCli(mode, target, args, binary): mode must be a php-cli mode, target and binary strings, args an array of strings";
  if (info.Length() < 4 || !info[0].IsNumber() || !info[1].IsString() || !info[2].IsArray() || !info[3].IsString()) {
    throw Napi::TypeError::New(env, usage);
  }
  const int mode = info[0].As<Napi::Number>().Int32Value();
  if (mode < PHPA_CLI_SCRIPT || mode > PHPA_CLI_VERSION) throw Napi::TypeError::New(env, usage);
  std::string target = info[1].As<Napi::String>().Utf8Value();
  std::string binary = info[3].As<Napi::String>().Utf8Value();
  std::vector<std::string> args;
  // $argv[0]: the script, or what PHP's CLI names code given with -r.
  args.push_back(mode == PHPA_CLI_SCRIPT ? target : "Standard input code");
  Napi::Array a = info[2].As<Napi::Array>();
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, usage);
    args.push_back(v.As<Napi::String>().Utf8Value());
  }
  if (!phpa::ClaimPhpStart()) {
    throw Napi::Error::New(env, "PHP cannot be started twice in one process (it was started already)");
  }
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  phpa_cli_run run{};
  run.mode = mode;
  run.code = mode == PHPA_CLI_CODE ? target.c_str() : nullptr;
  run.binary = binary.empty() ? nullptr : binary.c_str();
  run.argc = static_cast<int>(args.size());
  run.argv = argv.data();
  int status = 255;
  sigset_t old;
  phpa::BlockAsyncSignals(&old);  // the PHP thread inherits the blocked mask
  std::thread t([&] { status = phpa_php_run_cli(&run); });
  phpa::RestoreSignals(&old);
  t.join();
  return Napi::Number::New(env, status);
}

// Bytes one of a TCP socket's kernel queues holds (ioctl `request`), or -1 where that cannot be
// read (request 0: this platform has no such ioctl).
static Napi::Value SocketQueueBytes(const Napi::CallbackInfo& info, const char* usage, unsigned long request) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, usage);
  int n = -1;
  const int fd = info[0].As<Napi::Number>().Int32Value();
  if (request == 0 || fd < 0 || ioctl(fd, request, &n) != 0) n = -1;
  return Napi::Number::New(env, n);
}

#ifndef SIOCOUTQ
#define SIOCOUTQ 0
#endif
#ifndef SIOCINQ
#define SIOCINQ 0
#endif

// socketUnsent(fd): bytes the send queue still holds (SIOCOUTQ). The write timeout uses it to
// see a slow client make progress: from userspace alone, progress shows only when the kernel
// frees a third of its buffer.
Napi::Value SocketUnsent(const Napi::CallbackInfo& info) {
  return SocketQueueBytes(info, "socketUnsent(fd): fd must be a number", SIOCOUTQ);
}

// socketUnread(fd): bytes the receive queue holds that Node has not read yet (SIOCINQ). The
// drain closes an idle keep-alive connection only when this is 0: closing a socket with unread
// bytes resets the client's request.
Napi::Value SocketUnread(const Napi::CallbackInfo& info) {
  return SocketQueueBytes(info, "socketUnread(fd): fd must be a number", SIOCINQ);
}

// listenPending(fd): 1 if a connection waits in listening socket fd's accept queue, 0 if none,
// -1 where that cannot be read. Closing a listening socket resets the connections still queued
// there: the shutdown closes it once this is 0.
Napi::Value ListenPending(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(env, "listenPending(fd): fd must be a number");
  const int fd = info[0].As<Napi::Number>().Int32Value();
  struct pollfd p = {fd, POLLIN, 0};
  const int n = fd < 0 ? -1 : poll(&p, 1, 0);
  if (n < 0 || (p.revents & POLLNVAL) != 0) return Napi::Number::New(env, -1);
  return Napi::Number::New(env, (p.revents & POLLIN) != 0 ? 1 : 0);
}

// The bridge's enums (php/phpa_bridge.h) by name without the PHPA_ prefix: JS reads frame
// flags, event kinds and log levels from here instead of copying the numbers.
Napi::Object Constants(Napi::Env env) {
  Napi::Object c = Napi::Object::New(env);
  const std::pair<const char*, int> all[] = {
      {"JOB_REQUEST", PHPA_JOB_REQUEST},   {"JOB_STOP", PHPA_JOB_STOP},
      {"FRAME_HEAD", PHPA_FRAME_HEAD},     {"FRAME_END", PHPA_FRAME_END},
      {"FRAME_ABORT", PHPA_FRAME_ABORT},   {"FRAME_UNSENT", PHPA_FRAME_UNSENT},
      {"EVENT_READY", PHPA_EVENT_READY},   {"EVENT_FAILED", PHPA_EVENT_FAILED},
      {"EVENT_LOG", PHPA_EVENT_LOG},       {"EVENT_EXITED", PHPA_EVENT_EXITED},
      {"LOG_DEBUG", PHPA_LOG_DEBUG},       {"LOG_INFO", PHPA_LOG_INFO},
      {"LOG_WARN", PHPA_LOG_WARN},         {"LOG_ERROR", PHPA_LOG_ERROR},
      {"CLI_SCRIPT", PHPA_CLI_SCRIPT},     {"CLI_CODE", PHPA_CLI_CODE},
      {"CLI_INFO", PHPA_CLI_INFO},         {"CLI_MODULES", PHPA_CLI_MODULES},
      {"CLI_VERSION", PHPA_CLI_VERSION},
      {"MODE_ASYNC_WORKER", PHPA_MODE_ASYNC_WORKER},
      {"MODE_CLASSIC_WORKER", PHPA_MODE_CLASSIC_WORKER},
      {"MODE_SCRIPTS", PHPA_MODE_SCRIPTS},
  };
  for (const auto& [name, value] : all) c.Set(name, Napi::Number::New(env, value));
  c.Freeze();
  return c;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("constants", Constants(env));
  exports.Set("socketUnsent", Napi::Function::New(env, SocketUnsent));
  exports.Set("socketUnread", Napi::Function::New(env, SocketUnread));
  exports.Set("listenPending", Napi::Function::New(env, ListenPending));
  exports.Set("Engine", phpa::Engine::Init(env));
  exports.Set("phpInfo", Napi::Function::New(env, PhpInfo));
  exports.Set("runCli", Napi::Function::New(env, RunCli));
  return exports;
}

}  // namespace

NODE_API_MODULE(phpasync, Init)
