#include "errors.h"

#include <cerrno>
#include <cstring>

namespace overlay {

const char* CodeForErrno(int err) {
  switch (err) {
    case EPERM:
    case EACCES:
      return code::kPermission;
    case EBUSY:
      return code::kBusy;
    case EINVAL:
      return code::kInvalid;
    default:
      return code::kOther;
  }
}

static std::string Hint(const char* code) {
  if (std::strcmp(code, code::kPermission) == 0) return " (needs root or CAP_NET_ADMIN)";
  if (std::strcmp(code, code::kNoTun) == 0) return " (is the tun module loaded and /dev/net/tun present?)";
  return "";
}

TunError SysError(const char* code, int err, const char* syscall, const std::string& device,
                  const std::string& action) {
  std::string message = "tun " + device + ": " + action + ": " + std::strerror(err) + Hint(code);
  return TunError(code, err, syscall, message);
}

TunError SysError(int err, const char* syscall, const std::string& device, const std::string& action) {
  return SysError(CodeForErrno(err), err, syscall, device, action);
}

TunError InvalidArgument(const std::string& device, const std::string& message) {
  return TunError(code::kInvalid, 0, nullptr, "tun " + device + ": " + message);
}

Napi::Error ToJsError(Napi::Env env, const TunError& e, const std::string& device) {
  Napi::Error error = Napi::Error::New(env, e.what());
  Napi::Object obj = error.Value();
  obj.Set("code", e.code());
  if (e.err() != 0) {
    // Negative like Node's own system errors, so util.getSystemErrorName(err.errno) works.
    obj.Set("errno", -e.err());
  }
  if (!e.syscall().empty()) obj.Set("syscall", e.syscall());
  obj.Set("device", device);
  return error;
}

}  // namespace overlay
