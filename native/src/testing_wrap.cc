#include "testing_wrap.h"

#include <cstring>

#include "datapath/aead.h"
#include "datapath/allowed_ips.h"
#include "datapath/replay_window.h"
#include "datapath/wire.h"
#include "ip_prefix.h"
#include "js_args.h"

namespace overlay {
namespace {

uint64_t CounterArg(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsBigInt()) ThrowTypeError(info.Env(), "counter must be a bigint");
  bool lossless = false;
  uint64_t v = info[index].As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) ThrowRangeError(info.Env(), "counter must fit in 64 bits");
  return v;
}

class ReplayWindowWrap : public Napi::ObjectWrap<ReplayWindowWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ReplayWindow",
                       {InstanceMethod<&ReplayWindowWrap::Check>("check"),
                        InstanceMethod<&ReplayWindowWrap::Accept>("accept")});
  }
  explicit ReplayWindowWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReplayWindowWrap>(info) {}

 private:
  Napi::Value Check(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), window_.Check(CounterArg(info, 0)));
  }
  Napi::Value Accept(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), window_.Accept(CounterArg(info, 0)));
  }
  ReplayWindow window_;
};

class AllowedIpsWrap : public Napi::ObjectWrap<AllowedIpsWrap> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "AllowedIps",
                       {InstanceMethod<&AllowedIpsWrap::Insert>("insert"),
                        InstanceMethod<&AllowedIpsWrap::Remove>("removePeer"),
                        InstanceMethod<&AllowedIpsWrap::Lookup>("lookup")});
  }
  explicit AllowedIpsWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AllowedIpsWrap>(info) {}

 private:
  Napi::Value Insert(const Napi::CallbackInfo& info) {
    IpPrefix p;
    try {
      p = ParseIpPrefix(StringArg(info, 0, "prefix"), "testing");
    } catch (const std::exception& e) {
      ThrowRangeError(info.Env(), e.what());
    }
    table_.Insert(p.addr, static_cast<int>(p.AddrSize()), p.length, UintArg(info, 1, "peer", 1, 0xffffffffu));
    return info.Env().Undefined();
  }
  Napi::Value Remove(const Napi::CallbackInfo& info) {
    table_.RemovePeer(UintArg(info, 0, "peer", 1, 0xffffffffu));
    return info.Env().Undefined();
  }
  // lookup(addressBytes: Uint8Array of 4 or 16) -> peer id, 0 for none
  Napi::Value Lookup(const Napi::CallbackInfo& info) {
    ByteSpan addr = BytesArg(info, 0, "address");
    if (addr.size != 4 && addr.size != 16) ThrowRangeError(info.Env(), "address must be 4 or 16 bytes");
    return Napi::Number::New(info.Env(), table_.Lookup(addr.data, static_cast<int>(addr.size)));
  }
  AllowedIps table_;
};

// seal(key, counter, plaintext) -> ciphertext||tag, exactly as a transport body (no padding added).
Napi::Value Seal(const Napi::CallbackInfo& info) {
  ByteSpan key = BytesArg(info, 0, "key");
  if (key.size != kKeySize) ThrowRangeError(info.Env(), "key must be 32 bytes");
  uint64_t counter = CounterArg(info, 1);
  ByteSpan plain = BytesArg(info, 2, "plaintext");
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), plain.size + kAeadTagSize);
  TransportAead aead;
  if (!aead.Seal(key.data, counter, plain.data, plain.size, out.Data())) ThrowRangeError(info.Env(), "seal failed");
  return out;
}

// open(key, counter, ciphertext||tag) -> plaintext, or null when it does not authenticate.
Napi::Value Open(const Napi::CallbackInfo& info) {
  ByteSpan key = BytesArg(info, 0, "key");
  if (key.size != kKeySize) ThrowRangeError(info.Env(), "key must be 32 bytes");
  uint64_t counter = CounterArg(info, 1);
  ByteSpan sealed = BytesArg(info, 2, "ciphertext");
  if (sealed.size < kAeadTagSize) return info.Env().Null();
  auto out = Napi::Buffer<uint8_t>::New(info.Env(), sealed.size - kAeadTagSize);
  TransportAead aead;
  if (!aead.Open(key.data, counter, sealed.data, sealed.size - kAeadTagSize, out.Data())) return info.Env().Null();
  return out;
}

}  // namespace

Napi::Object DefineTesting(Napi::Env env) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("ReplayWindow", ReplayWindowWrap::Define(env));
  testing.Set("AllowedIps", AllowedIpsWrap::Define(env));
  testing.Set("seal", Napi::Function::New(env, Seal, "seal"));
  testing.Set("open", Napi::Function::New(env, Open, "open"));
  testing.Set("replayWindowBits", Napi::Number::New(env, ReplayWindow::kBits));
  return testing;
}

}  // namespace overlay
