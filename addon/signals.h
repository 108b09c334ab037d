// Signals belong to Node's main thread: every thread that runs PHP (the engine's PHP threads,
// php-cli's) starts with every asynchronous signal blocked, else PHP would take SIGINT/SIGTERM
// and spin at 100% CPU on Ctrl-C (DESIGN.md). Faults (SIGSEGV, SIGBUS, ...) stay deliverable:
// the stack-overflow guard catches them on PHP threads.
#pragma once

#include <pthread.h>
#include <signal.h>

namespace phpa {

// Blocks them on the calling thread (threads it creates inherit the mask); *old gets the
// previous mask, to be restored once the threads are created.
inline void BlockAsyncSignals(sigset_t* old) {
  sigset_t all;
  sigfillset(&all);
  for (int s : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP}) sigdelset(&all, s);
  pthread_sigmask(SIG_BLOCK, &all, old);
}

inline void RestoreSignals(const sigset_t* old) { pthread_sigmask(SIG_SETMASK, old, nullptr); }

}  // namespace phpa
