// Wakes a parked PHP thread: an eventfd where Linux has one, a non-blocking pipe elsewhere.
// Written only while the consumer is parked (see ThreadSlot's park handshake).
#pragma once

namespace phpa {

class Notifier {
 public:
  Notifier() = default;
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;
  ~Notifier();

  // Returns 0, or an errno value.
  int Open();
  // Any thread. Never blocks: a full pipe already means "signalled".
  void Signal() const;
  // Consumer thread: reset to "not signalled".
  void Drain() const;
  // The fd to poll for readability.
  int fd() const { return read_fd_; }
  bool is_eventfd() const { return read_fd_ == write_fd_; }

 private:
  int read_fd_ = -1;
  int write_fd_ = -1;
};

}  // namespace phpa
