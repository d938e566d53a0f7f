// The JavaScript `Tun` class: argument checking, error conversion, and event-loop-driven reads
// (a uv_poll on the nonblocking TUN fd) on top of TunDevice.
#pragma once

#include <napi.h>
#include <uv.h>

#include <memory>

#include "tun_device.h"

namespace overlay {

class TunWrap : public Napi::ObjectWrap<TunWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit TunWrap(const Napi::CallbackInfo& info);
  ~TunWrap() override;

  // The fd of a Tun passed from JavaScript to another native class (the data path takes one).
  // Throws a TypeError unless `value` is a Tun, and ETUN if it is closed.
  static int FdOf(Napi::Value value);

 private:
  Napi::Value Name(const Napi::CallbackInfo& info);
  Napi::Value Ifindex(const Napi::CallbackInfo& info);
  Napi::Value Closed(const Napi::CallbackInfo& info);
  Napi::Value SetMtu(const Napi::CallbackInfo& info);
  Napi::Value GetMtu(const Napi::CallbackInfo& info);
  Napi::Value Up(const Napi::CallbackInfo& info);
  Napi::Value Down(const Napi::CallbackInfo& info);
  Napi::Value IsUp(const Napi::CallbackInfo& info);
  Napi::Value AddAddress(const Napi::CallbackInfo& info);
  Napi::Value RemoveAddress(const Napi::CallbackInfo& info);
  Napi::Value SetRouteMtu(const Napi::CallbackInfo& info);
  Napi::Value ReadBatch(const Napi::CallbackInfo& info);
  Napi::Value WriteBatch(const Napi::CallbackInfo& info);
  Napi::Value OnReadable(const Napi::CallbackInfo& info);
  Napi::Value StopReading(const Napi::CallbackInfo& info);
  Napi::Value RefHandle(const Napi::CallbackInfo& info);
  Napi::Value UnrefHandle(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  TunDevice& Device(const char* action);
  void StopPoll();
  void CloseAll();
  static void OnPoll(uv_poll_t* handle, int status, int events);
  static void OnEnvCleanup(void* arg);

  std::unique_ptr<TunDevice> device_;
  std::string name_;  // kept after close for error messages and the `name` getter
  uv_poll_t* poll_ = nullptr;  // heap: libuv owns it until its close callback runs
  bool reading_ = false;
  bool handle_refed_ = true;
  bool cleanup_hook_ = false;
  Napi::FunctionReference readable_cb_;
  std::shared_ptr<Napi::AsyncContext> async_context_;
};

}  // namespace overlay
