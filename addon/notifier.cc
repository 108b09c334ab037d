#include "notifier.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#if defined(__linux__)
#include <sys/eventfd.h>
#define PHPA_HAVE_EVENTFD 1
#endif

namespace phpa {

int Notifier::Open() {
#if defined(PHPA_HAVE_EVENTFD)
  if (getenv("PHPASYNC_FORCE_PIPE") == nullptr) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0) {
      read_fd_ = write_fd_ = fd;
      return 0;
    }
  }
#endif
  int fds[2];
  if (pipe(fds) != 0) return errno;
  for (int fd : fds) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  read_fd_ = fds[0];
  write_fd_ = fds[1];
  return 0;
}

Notifier::~Notifier() {
  if (read_fd_ >= 0) close(read_fd_);
  if (write_fd_ >= 0 && write_fd_ != read_fd_) close(write_fd_);
}

void Notifier::Signal() const {
  if (is_eventfd()) {
    uint64_t one = 1;
    // EAGAIN only when the counter would overflow: it is already signalled.
    while (write(write_fd_, &one, sizeof one) < 0 && errno == EINTR) {
    }
  } else {
    char b = 1;
    while (write(write_fd_, &b, 1) < 0 && errno == EINTR) {
    }
  }
}

void Notifier::Drain() const {
  char buf[64];
  for (;;) {
    ssize_t n = read(read_fd_, buf, is_eventfd() ? 8 : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    // An eventfd is reset by one read; a pipe is empty when read returns EAGAIN.
    if (n <= 0 || is_eventfd()) return;
  }
}

}  // namespace phpa
