#include "file_lock.h"

#include <sys/file.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <string>

#include "js_args.h"

namespace overlay {

Napi::Value TryLockFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(UintArg(info, 0, "fd", 0, INT_MAX));
  for (;;) {
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Napi::Boolean::New(env, true);
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return Napi::Boolean::New(env, false);
    int err = errno;
    Napi::Error error = Napi::Error::New(env, std::string("flock: ") + std::strerror(err));
    error.Value().Set("code", "ELOCK");
    error.Value().Set("errno", -err);
    error.Value().Set("syscall", "flock");
    throw error;
  }
}

}  // namespace overlay
