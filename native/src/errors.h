// One error type for every failure the addon reports, classified into the small set of codes
// that callers act on (DESIGN: "never throw across the native boundary without a code").
#pragma once

#include <napi.h>

#include <exception>
#include <stdexcept>
#include <string>

namespace overlay {

// Codes promised in index.d.ts; anything unclassified is ETUN, with the real errno attached.
namespace code {
constexpr const char* kPermission = "EPERM";
constexpr const char* kNoTun = "ENOTUN";
constexpr const char* kBusy = "EBUSY";
constexpr const char* kAddrInUse = "EADDRINUSE";
constexpr const char* kInvalid = "EINVAL";
constexpr const char* kOther = "ETUN";
}  // namespace code

class TunError : public std::runtime_error {
 public:
  TunError(const char* code, int err, const char* syscall, const std::string& message)
      : std::runtime_error(message), code_(code), errno_(err), syscall_(syscall ? syscall : "") {}

  const char* code() const { return code_; }
  int err() const { return errno_; }  // 0 when the failure was found by validation, not the kernel
  const std::string& syscall() const { return syscall_; }

 private:
  const char* code_;
  int errno_;
  std::string syscall_;
};

// The code a bare errno maps to when the call site knows nothing more specific.
const char* CodeForErrno(int err);

// A failed system call on `device`: "tun DEVICE: ACTION: strerror (hint)".
TunError SysError(int err, const char* syscall, const std::string& device, const std::string& action);
TunError SysError(const char* code, int err, const char* syscall, const std::string& device,
                  const std::string& action);

// Rejected input, found before any system call: code EINVAL, no errno.
TunError InvalidArgument(const std::string& device, const std::string& message);

// The JavaScript Error for `e`, with .code, .errno (negative, as libuv does), .syscall and .device.
Napi::Error ToJsError(Napi::Env env, const TunError& e, const std::string& device);

// Runs `body` inside a Node-API callback, turning C++ errors into JavaScript ones: anything that
// escaped would terminate the process. `kind` and `device` name the object in messages
// ("tun ovl0: ...", "datapath: ..."); std::invalid_argument becomes a RangeError.
template <typename Body>
Napi::Value Guard(Napi::Env env, const char* kind, const std::string& device, Body&& body) {
  try {
    return body();
  } catch (const TunError& e) {
    throw ToJsError(env, e, device);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::invalid_argument& e) {
    Napi::RangeError error = Napi::RangeError::New(env, e.what());
    error.Value().Set("code", "ERR_OUT_OF_RANGE");
    throw error;
  } catch (const std::exception& e) {
    std::string who = device.empty() ? kind : std::string(kind) + " " + device;
    throw ToJsError(env, TunError(code::kOther, 0, nullptr, who + ": " + e.what()), device);
  }
}

}  // namespace overlay
