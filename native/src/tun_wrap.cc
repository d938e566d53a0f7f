#include "tun_wrap.h"

#include <sys/socket.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <vector>

#include "errors.h"
#include "js_args.h"
#include "netlink.h"

namespace overlay {
namespace {

// Slots larger than this are a caller bug (the largest IP packet is 64 KiB).
constexpr uint32_t kMaxSlot = 1 << 17;
constexpr uint32_t kMaxMtu = 65535;

// Marks objects made by this class, so FdOf can tell a Tun from any other wrapped object before
// casting (Node-API type tags; a random constant, not derived from anything).
constexpr napi_type_tag kTunTypeTag = {0x6f766c7974756e31ULL, 0x9c1f3a5be2d04a77ULL};

std::string RequestedName(const Napi::CallbackInfo& info) {
  Napi::Value options = info[0];
  if (options.IsUndefined() || options.IsNull()) return "";
  if (!options.IsObject() || options.IsArray()) ThrowTypeError(info.Env(), "options must be an object");
  Napi::Value name = options.As<Napi::Object>().Get("name");
  if (name.IsUndefined()) return "";
  if (!name.IsString()) ThrowTypeError(info.Env(), "options.name must be a string");
  return name.As<Napi::String>().Utf8Value();
}

// A route's destination must be the network itself: the kernel refuses "100.64.0.9/16".
bool HostBitsClear(const IpPrefix& prefix) {
  for (size_t i = 0; i < prefix.AddrSize(); i++) {
    int bits = std::clamp(prefix.length - static_cast<int>(i) * 8, 0, 8);
    if ((prefix.addr[i] & (0xffu >> bits)) != 0) return false;
  }
  return true;
}

}  // namespace

Napi::Function TunWrap::Define(Napi::Env env) {
  return DefineClass(env, "Tun",
                     {
                         InstanceAccessor<&TunWrap::Name>("name"),
                         InstanceAccessor<&TunWrap::Ifindex>("ifindex"),
                         InstanceAccessor<&TunWrap::Closed>("closed"),
                         InstanceMethod<&TunWrap::SetMtu>("setMtu"),
                         InstanceMethod<&TunWrap::GetMtu>("getMtu"),
                         InstanceMethod<&TunWrap::Up>("up"),
                         InstanceMethod<&TunWrap::Down>("down"),
                         InstanceMethod<&TunWrap::IsUp>("isUp"),
                         InstanceMethod<&TunWrap::AddAddress>("addAddress"),
                         InstanceMethod<&TunWrap::RemoveAddress>("removeAddress"),
                         InstanceMethod<&TunWrap::SetRouteMtu>("setRouteMtu"),
                         InstanceMethod<&TunWrap::ReadBatch>("readBatch"),
                         InstanceMethod<&TunWrap::WriteBatch>("writeBatch"),
                         InstanceMethod<&TunWrap::OnReadable>("onReadable"),
                         InstanceMethod<&TunWrap::StopReading>("stopReading"),
                         InstanceMethod<&TunWrap::RefHandle>("ref"),
                         InstanceMethod<&TunWrap::UnrefHandle>("unref"),
                         InstanceMethod<&TunWrap::Stats>("stats"),
                         InstanceMethod<&TunWrap::Close>("close"),
                     });
}

TunWrap::TunWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TunWrap>(info) {
  Napi::Env env = info.Env();
  if (!info.IsConstructCall()) ThrowTypeError(env, "Tun must be called with new");
  name_ = RequestedName(info);
  Guard(env, "tun", name_.empty() ? "(kernel-chosen name)" : name_, [&] {
    device_ = std::make_unique<TunDevice>(name_);
    return env.Undefined();
  });
  name_ = device_->name();
  napi_type_tag_object(env, info.This(), &kTunTypeTag);
  // Worker threads close their loop when they exit; an open poll handle would make that abort,
  // so the device is closed in the environment's cleanup as well as by close() and GC.
  cleanup_hook_ = napi_add_env_cleanup_hook(env, &TunWrap::OnEnvCleanup, this) == napi_ok;
}

TunWrap::~TunWrap() {
  if (cleanup_hook_) napi_remove_env_cleanup_hook(Env(), &TunWrap::OnEnvCleanup, this);
  // While reading, this object holds a strong reference to itself, so GC cannot get here then;
  // only environment teardown can, where Unref() on a reference being finalized is not allowed.
  if (reading_) {
    uv_poll_stop(poll_);
    reading_ = false;
  }
  CloseAll();
}

int TunWrap::FdOf(Napi::Value value) {
  Napi::Env env = value.Env();
  bool is_tun = false;
  if (value.IsObject() && napi_check_object_type_tag(env, value, &kTunTypeTag, &is_tun) != napi_ok) is_tun = false;
  if (!is_tun) ThrowTypeError(env, "expected a Tun");
  TunWrap* tun = Unwrap(value.As<Napi::Object>());
  return Guard(env, "tun", tun->name_, [&] {
           return Napi::Number::New(env, tun->Device("cannot hand over the device").fd());
         })
      .As<Napi::Number>()
      .Int32Value();
}

void TunWrap::OnEnvCleanup(void* arg) {
  auto* self = static_cast<TunWrap*>(arg);
  self->cleanup_hook_ = false;
  self->StopPoll();
  self->CloseAll();
}

TunDevice& TunWrap::Device(const char* action) {
  if (!device_ || device_->closed()) {
    throw TunError(code::kOther, EBADF, nullptr, "tun " + name_ + ": " + action + ": device is closed");
  }
  return *device_;
}

void TunWrap::StopPoll() {
  if (!reading_) return;
  reading_ = false;
  uv_poll_stop(poll_);
  readable_cb_.Reset();
  async_context_.reset();
  Unref();
}

void TunWrap::CloseAll() {
  if (poll_ != nullptr) {
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poll_ = nullptr;
  }
  // The poll handle is stopped before the fd closes: epoll must never watch a recycled fd.
  if (device_) device_->Close();
}

Napi::Value TunWrap::Name(const Napi::CallbackInfo& info) { return Napi::String::New(info.Env(), name_); }

Napi::Value TunWrap::Ifindex(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), device_ ? device_->ifindex() : 0);
}

Napi::Value TunWrap::Closed(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !device_ || device_->closed());
}

Napi::Value TunWrap::SetMtu(const Napi::CallbackInfo& info) {
  uint32_t mtu = UintArg(info, 0, "mtu", 0, kMaxMtu);
  return Guard(info.Env(), "tun", name_, [&] {
    Device("cannot set MTU").SetMtu(static_cast<int>(mtu));
    return info.Env().Undefined();
  });
}

Napi::Value TunWrap::GetMtu(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), "tun", name_, [&] { return Napi::Number::New(info.Env(), Device("cannot read MTU").Mtu()); });
}

Napi::Value TunWrap::Up(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), "tun", name_, [&] {
    Device("cannot bring device up").SetUp(true);
    return info.Env().Undefined();
  });
}

Napi::Value TunWrap::Down(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), "tun", name_, [&] {
    Device("cannot bring device down").SetUp(false);
    return info.Env().Undefined();
  });
}

Napi::Value TunWrap::IsUp(const Napi::CallbackInfo& info) {
  return Guard(info.Env(), "tun", name_, [&] { return Napi::Boolean::New(info.Env(), Device("cannot read flags").IsUp()); });
}

Napi::Value TunWrap::AddAddress(const Napi::CallbackInfo& info) {
  std::string cidr = StringArg(info, 0, "address");
  return Guard(info.Env(), "tun", name_, [&] {
    IpPrefix prefix = ParseIpPrefix(cidr, name_);
    netlink::AddAddress(Device("cannot add address").ifindex(), prefix, name_);
    return info.Env().Undefined();
  });
}

Napi::Value TunWrap::RemoveAddress(const Napi::CallbackInfo& info) {
  std::string cidr = StringArg(info, 0, "address");
  return Guard(info.Env(), "tun", name_, [&] {
    IpPrefix prefix = ParseIpPrefix(cidr, name_);
    netlink::RemoveAddress(Device("cannot remove address").ifindex(), prefix, name_);
    return info.Env().Undefined();
  });
}

// setRouteMtu(prefix, mtu | null)
Napi::Value TunWrap::SetRouteMtu(const Napi::CallbackInfo& info) {
  std::string cidr = StringArg(info, 0, "prefix");
  Napi::Value mtu_value = info[1];
  if (!mtu_value.IsNull() && !mtu_value.IsNumber()) ThrowTypeError(info.Env(), "mtu must be a number or null");
  return Guard(info.Env(), "tun", name_, [&] {
    IpPrefix prefix = ParseIpPrefix(cidr, name_);
    if (!HostBitsClear(prefix)) {
      throw InvalidArgument(name_, "bad route prefix \"" + cidr + "\": address bits set past the prefix length");
    }
    if (mtu_value.IsNull()) {
      netlink::RemoveRouteMtu(Device("cannot remove route").ifindex(), prefix, name_);
      return info.Env().Undefined();
    }
    // The smallest MTU each family's hosts must accept (RFC 791: 576; RFC 8200 §5: 1280).
    uint32_t min = prefix.family == AF_INET ? 576 : 1280;
    double mtu = mtu_value.As<Napi::Number>().DoubleValue();
    if (!(mtu >= min && mtu <= kMaxMtu) || std::floor(mtu) != mtu) {
      throw InvalidArgument(name_, "route MTU for " + cidr + " must be an integer from " + std::to_string(min) +
                                       " to " + std::to_string(kMaxMtu));
    }
    netlink::SetRouteMtu(Device("cannot set route MTU").ifindex(), prefix, static_cast<uint32_t>(mtu), name_);
    return info.Env().Undefined();
  });
}

// readBatch(buf, lens, slotSize, maxPackets?) -> count
Napi::Value TunWrap::ReadBatch(const Napi::CallbackInfo& info) {
  ByteSpan buf = BytesArg(info, 0, "buf");
  LengthSpan lens = LengthsArg(info, 1, "lens");
  uint32_t slot = UintArg(info, 2, "slotSize", 1, kMaxSlot);
  size_t capacity = std::min(lens.size, buf.size / slot);
  uint32_t max = OptionalUintArg(info, 3, "maxPackets", 0, UINT32_MAX, static_cast<uint32_t>(capacity));
  if (max > capacity) {
    ThrowRangeError(info.Env(), "maxPackets " + std::to_string(max) + " exceeds the " + std::to_string(capacity) +
                                    " slots that buf and lens hold");
  }
  return Guard(info.Env(), "tun", name_, [&] {
    size_t n = Device("cannot read").ReadBatch(buf.data, slot, lens.data, max);
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  });
}

// writeBatch(buf, lens, slotSize, count) -> count consumed
Napi::Value TunWrap::WriteBatch(const Napi::CallbackInfo& info) {
  ByteSpan buf = BytesArg(info, 0, "buf");
  LengthSpan lens = LengthsArg(info, 1, "lens");
  uint32_t slot = UintArg(info, 2, "slotSize", 1, kMaxSlot);
  uint32_t count = UintArg(info, 3, "count", 0, UINT32_MAX);
  if (count > lens.size || count > buf.size / slot) {
    ThrowRangeError(info.Env(), "count " + std::to_string(count) + " exceeds the slots that buf and lens hold");
  }
  for (uint32_t i = 0; i < count; i++) {
    if (lens.data[i] > slot) {
      ThrowRangeError(info.Env(), "lens[" + std::to_string(i) + "] = " + std::to_string(lens.data[i]) +
                                      " exceeds slotSize " + std::to_string(slot));
    }
  }
  return Guard(info.Env(), "tun", name_, [&] {
    size_t n = Device("cannot write").WriteBatch(buf.data, slot, lens.data, count);
    return Napi::Number::New(info.Env(), static_cast<double>(n));
  });
}

Napi::Value TunWrap::OnReadable(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Function cb = FunctionArg(info, 0, "callback");
  return Guard(env, "tun", name_, [&] {
    int fd = Device("cannot watch for packets").fd();
    if (poll_ == nullptr) {
      uv_loop_t* loop = nullptr;
      if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw TunError(code::kOther, 0, nullptr, "no event loop");
      auto* poll = new uv_poll_t;
      int rc = uv_poll_init(loop, poll, fd);
      if (rc < 0) {
        delete poll;
        throw SysError(-rc, "uv_poll_init", name_, "cannot watch for packets");
      }
      poll->data = this;
      poll_ = poll;
      if (!handle_refed_) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
    }
    readable_cb_ = Napi::Persistent(cb);
    async_context_ = std::make_shared<Napi::AsyncContext>(env, "TunReadable", Value());
    if (!reading_) {
      int rc = uv_poll_start(poll_, UV_READABLE, &TunWrap::OnPoll);
      if (rc < 0) {
        readable_cb_.Reset();
        async_context_.reset();
        throw SysError(-rc, "uv_poll_start", name_, "cannot watch for packets");
      }
      reading_ = true;
      Ref();  // an armed device stays alive without a JavaScript reference, like a socket
    }
    return env.Undefined();
  });
}

void TunWrap::OnPoll(uv_poll_t* handle, int status, int /*events*/) {
  auto* self = static_cast<TunWrap*>(handle->data);
  if (!self->reading_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  // The callback may call stopReading() or close(), which drop these; hold our own copies.
  Napi::Object recv = self->Value();
  Napi::Function cb = self->readable_cb_.Value();
  std::shared_ptr<Napi::AsyncContext> context = self->async_context_;
  std::vector<napi_value> args;
  if (status < 0) {
    TunError error = SysError(-status, "uv_poll", self->name_, "cannot watch for packets");
    args.push_back(ToJsError(env, error, self->name_).Value());
    self->StopPoll();
  }
  try {
    cb.MakeCallback(recv, args, *context);
  } catch (const Napi::Error& e) {
    // A throwing callback is the application's bug; surface it as Node does for an
    // EventEmitter listener, as an uncaught exception.
    napi_fatal_exception(env, e.Value());
  }
}

Napi::Value TunWrap::StopReading(const Napi::CallbackInfo& info) {
  StopPoll();
  return info.Env().Undefined();
}

Napi::Value TunWrap::RefHandle(const Napi::CallbackInfo& info) {
  handle_refed_ = true;
  if (poll_ != nullptr) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
  return info.This();
}

Napi::Value TunWrap::UnrefHandle(const Napi::CallbackInfo& info) {
  handle_refed_ = false;
  if (poll_ != nullptr) uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  return info.This();
}

Napi::Value TunWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  TunStats stats = device_ ? device_->stats() : TunStats{};
  Napi::Object out = Napi::Object::New(env);
  out.Set("rxPackets", static_cast<double>(stats.rx_packets));
  out.Set("rxBytes", static_cast<double>(stats.rx_bytes));
  out.Set("txPackets", static_cast<double>(stats.tx_packets));
  out.Set("txBytes", static_cast<double>(stats.tx_bytes));
  out.Set("txRejected", static_cast<double>(stats.tx_rejected));
  return out;
}

Napi::Value TunWrap::Close(const Napi::CallbackInfo& info) {
  StopPoll();
  CloseAll();
  return info.Env().Undefined();
}

}  // namespace overlay
