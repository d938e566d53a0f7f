// The relay part of DataPath's JavaScript API (datapath/relay.cc does the work): pair keys and
// tags, each peer's path, the relay service, and control messages along a peer's path.
#include <openssl/crypto.h>

#include <cstring>
#include <string>

#include "datapath_wrap.h"
#include "errors.h"
#include "js_args.h"

namespace overlay {

namespace {

uint64_t TagOf(const Napi::CallbackInfo& info, Napi::Object tags, const char* key) {
  Napi::Value v = tags.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      v.As<Napi::Uint8Array>().ByteLength() != wire::kEnvelopeTagSize) {
    ThrowTypeError(info.Env(), std::string("tags.") + key + " must be an 8-byte Uint8Array");
  }
  return wire::ReadLe64(v.As<Napi::Uint8Array>().Data());
}

}  // namespace

// relayEpoch: this data path's 16 random bytes, which its relay keys are derived with.
Napi::Value DataPathWrap::GetRelayEpoch(const Napi::CallbackInfo& info) {
  const auto& epoch = Running(info.Env()).relay_epoch();
  Napi::Uint8Array out = Napi::Uint8Array::New(info.Env(), epoch.size());
  std::memcpy(out.Data(), epoch.data(), epoch.size());
  return out;
}

// setRelayKey(peer, secret: Uint8Array(32), { local: Uint8Array(8), remote: Uint8Array(8) },
//             remoteEpoch: Uint8Array(16))
Napi::Value DataPathWrap::SetRelayKey(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  PeerId id = UintArg(info, 0, "peer id", 1, 0xffffffffu);
  ByteSpan secret = BytesArg(info, 1, "secret");
  if (secret.size != kKeySize) ThrowTypeError(info.Env(), "secret must be a 32-byte Uint8Array");
  if (!info[2].IsObject()) ThrowTypeError(info.Env(), "tags must be an object { local, remote }");
  Napi::Object tags = info[2].As<Napi::Object>();
  uint64_t local = TagOf(info, tags, "local");
  uint64_t remote = TagOf(info, tags, "remote");
  ByteSpan epoch_arg = BytesArg(info, 3, "remoteEpoch");
  if (epoch_arg.size != kRelayEpochSize) ThrowTypeError(info.Env(), "remoteEpoch must be a 16-byte Uint8Array");
  RelayEpoch epoch{};
  std::memcpy(epoch.data(), epoch_arg.data, kRelayEpochSize);
  return Guard(info.Env(), "datapath", "", [&]() -> Napi::Value {
    engine.SetRelayKey(id, secret.data, local, remote, epoch);
    return info.Env().Undefined();
  });
}

Napi::Value DataPathWrap::RemoveRelayKey(const Napi::CallbackInfo& info) {
  Running(info.Env()).RemoveRelayKey(UintArg(info, 0, "peer id", 1, 0xffffffffu));
  return info.Env().Undefined();
}

// setPeerPath(peer, { direct: endpoint } | { relay: peerId })
Napi::Value DataPathWrap::SetPeerPath(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  PeerId id = UintArg(info, 0, "peer id", 1, 0xffffffffu);
  if (!info[1].IsObject()) ThrowTypeError(info.Env(), "path must be { direct: endpoint } or { relay: peer }");
  Napi::Object path = info[1].As<Napi::Object>();
  Napi::Value direct = path.Get("direct"), relay = path.Get("relay");
  if (direct.IsUndefined() == relay.IsUndefined())
    ThrowTypeError(info.Env(), "path must be { direct: endpoint } or { relay: peer }");
  sockaddr_in6 ep{};
  PeerId via = kNoPeer;
  if (!direct.IsUndefined()) {
    std::string text = direct.IsString() ? direct.As<Napi::String>().Utf8Value() : "";
    if (!ParseEndpoint(text, &ep))
      ThrowRangeError(info.Env(), "path.direct \"" + text + "\" is not ADDRESS:PORT or [IPV6]:PORT");
  } else {
    if (!relay.IsNumber() || relay.As<Napi::Number>().DoubleValue() < 1 ||
        relay.As<Napi::Number>().DoubleValue() > 0xffffffffu ||
        relay.As<Napi::Number>().DoubleValue() != double(relay.As<Napi::Number>().Uint32Value()))
      ThrowRangeError(info.Env(), "path.relay must be a peer id");
    via = relay.As<Napi::Number>().Uint32Value();
  }
  return Guard(info.Env(), "datapath", "", [&]() -> Napi::Value {
    engine.SetPeerPath(id, via == kNoPeer ? &ep : nullptr, via);
    return info.Env().Undefined();
  });
}

// setRelayService(enabled, bytesPerSecondPerSender)
Napi::Value DataPathWrap::SetRelayService(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  if (!info[0].IsBoolean()) ThrowTypeError(info.Env(), "enabled must be a boolean");
  bool enabled = info[0].As<Napi::Boolean>().Value();
  // Turning the service off needs no rate; turning it on with none would forward nothing.
  uint32_t rate = UintArg(info, 1, "bytesPerSecondPerSender", enabled ? 1 : 0, 0xffffffffu);
  engine.SetRelayService(enabled, rate);
  return info.Env().Undefined();
}

namespace {

// What a send along a path returns to JavaScript: false for no path, true when sent.
Napi::Value SendResult(const Napi::CallbackInfo& info, int err, PeerId id) {
  if (err < 0) return Napi::Boolean::New(info.Env(), false);
  if (err != 0)
    throw ToJsError(info.Env(), SysError(err, "sendto", "datapath", "send to peer " + std::to_string(id)), "datapath");
  return Napi::Boolean::New(info.Env(), true);
}

ByteSpan ControlData(const Napi::CallbackInfo& info) {
  ByteSpan bytes = BytesArg(info, 0, "data");
  if (bytes.size == 0 || bytes.size > 65507 - wire::kEnvelopeHeader)
    ThrowRangeError(info.Env(), "data must be 1..65463 bytes");
  return bytes;
}

}  // namespace

// sendControlToPeer(bytes, peer): like sendControl, along the peer's path (wrapped if relayed).
Napi::Value DataPathWrap::SendControlToPeer(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  ByteSpan bytes = ControlData(info);
  PeerId id = UintArg(info, 1, "peer id", 1, 0xffffffffu);
  return SendResult(info, engine.SendControlToPeer(bytes.data, bytes.size, id), id);
}

// sendControlVia(bytes, peer, relay): in an envelope through member `relay`, whatever the peer's path.
Napi::Value DataPathWrap::SendControlVia(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  ByteSpan bytes = ControlData(info);
  PeerId id = UintArg(info, 1, "peer id", 1, 0xffffffffu);
  PeerId via = UintArg(info, 2, "relay peer id", 1, 0xffffffffu);
  return SendResult(info, engine.SendControlVia(bytes.data, bytes.size, id, via), id);
}

}  // namespace overlay
