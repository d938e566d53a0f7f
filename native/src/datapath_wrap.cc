#include "datapath_wrap.h"

#include <exception>
#include <stdexcept>

#include "errors.h"
#include "ip_prefix.h"
#include "js_args.h"
#include "tun_wrap.h"

namespace overlay {
namespace {

const std::string kWhat = "datapath";  // the `device` of its errors

sockaddr_in6 EndpointArg(const Napi::CallbackInfo& info, size_t index) {
  std::string text = StringArg(info, index, "endpoint");
  sockaddr_in6 addr{};
  if (!ParseEndpoint(text, &addr)) {
    ThrowRangeError(info.Env(), "endpoint \"" + text + "\" is not ADDRESS:PORT or [IPV6]:PORT");
  }
  return addr;
}

PeerId PeerArg(const Napi::CallbackInfo& info, size_t index) {
  return UintArg(info, index, "peer id", 1, 0xffffffffu);
}

int64_t OptionalMs(Napi::Object options, const char* key, int64_t fallback) {
  Napi::Value v = options.Get(key);
  if (v.IsUndefined()) return fallback;
  if (!v.IsNumber() || v.As<Napi::Number>().DoubleValue() <= 0) {
    ThrowRangeError(options.Env(), std::string("options.") + key + " must be a positive number");
  }
  return v.As<Napi::Number>().Int64Value();
}

void CopyKey(const Napi::CallbackInfo& info, Napi::Object from, const char* key, uint8_t* out) {
  Napi::Value v = from.Get(key);
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array ||
      v.As<Napi::Uint8Array>().ByteLength() != kKeySize) {
    ThrowTypeError(info.Env(), std::string("session.") + key + " must be a 32-byte Uint8Array");
  }
  std::memcpy(out, v.As<Napi::Uint8Array>().Data(), kKeySize);
}

Napi::Value EventToJs(Napi::Env env, const UpEvent& e) {
  Napi::Object obj = Napi::Object::New(env);
  switch (e.kind) {
    case UpEvent::kControl:
      obj.Set("type", "control");
      obj.Set("data", Napi::Buffer<uint8_t>::Copy(env, e.bytes.data(), e.bytes.size()));
      obj.Set("from", FormatEndpoint(e.from));
      obj.Set("at", double(e.at_ns) / 1e6);
      if (e.via != kNoPeer) {
        obj.Set("via", e.via);
        obj.Set("peer", e.peer);
      }
      if (e.socket != 0) obj.Set("socket", e.socket);
      break;
    case UpEvent::kStun:
      // Never through a relay (admission::Classify), so there is no `via` to report.
      obj.Set("type", "stun");
      obj.Set("data", Napi::Buffer<uint8_t>::Copy(env, e.bytes.data(), e.bytes.size()));
      obj.Set("from", FormatEndpoint(e.from));
      break;
    case UpEvent::kHandshakeNeeded:
      obj.Set("type", "handshake-needed");
      obj.Set("peer", e.peer);
      break;
    case UpEvent::kSessionConfirmed:
      obj.Set("type", "session-confirmed");
      obj.Set("peer", e.peer);
      obj.Set("localIndex", e.local_index);
      break;
    case UpEvent::kEndpointChanged:
      obj.Set("type", "endpoint-changed");
      obj.Set("peer", e.peer);
      obj.Set("endpoint", FormatEndpoint(e.from));
      if (e.socket != 0) obj.Set("socket", e.socket);
      break;
    case UpEvent::kTraffic:
      obj.Set("type", "traffic");
      break;
  }
  return obj;
}

}  // namespace

Napi::Function DataPathWrap::Define(Napi::Env env) {
  // The names stats() reports, in its order: for tests that check the TypeScript type against
  // them without making a data path (which needs root).
  Napi::Array counter_names = Napi::Array::New(env);
#define OVERLAY_COUNTER_NAME(field, js, doc) counter_names.Set(counter_names.Length(), #js);
  OVERLAY_ENGINE_COUNTERS(OVERLAY_COUNTER_NAME)
#undef OVERLAY_COUNTER_NAME
  counter_names.Freeze();
  return DefineClass(env, "DataPath",
                     {
                         StaticValue("counterNames", counter_names, napi_enumerable),
                         InstanceAccessor<&DataPathWrap::Port>("port"),
                         InstanceAccessor<&DataPathWrap::GetRelayEpoch>("relayEpoch"),
                         InstanceMethod<&DataPathWrap::SetPeer>("setPeer"),
                         InstanceMethod<&DataPathWrap::SetSealedScreen>("setSealedScreen"),
                         InstanceMethod<&DataPathWrap::SetHandshakeScreen>("setHandshakeScreen"),
                         InstanceMethod<&DataPathWrap::SetEndpoint>("setEndpoint"),
                         InstanceMethod<&DataPathWrap::RemovePeer>("removePeer"),
                         InstanceMethod<&DataPathWrap::InstallSession>("installSession"),
                         InstanceMethod<&DataPathWrap::RemoveSession>("removeSession"),
                         InstanceMethod<&DataPathWrap::ClearSessions>("clearSessions"),
                         InstanceMethod<&DataPathWrap::SendControl>("sendControl"),
                         InstanceMethod<&DataPathWrap::OpenSocket>("openSocket"),
                         InstanceMethod<&DataPathWrap::CloseSocket>("closeSocket"),
                         InstanceMethod<&DataPathWrap::BindSocket>("bindSocket"),
                         InstanceMethod<&DataPathWrap::SocketStats>("socketStats"),
                         InstanceMethod<&DataPathWrap::SendKeepalive>("sendKeepalive"),
                         InstanceMethod<&DataPathWrap::SetRelayKey>("setRelayKey"),
                         InstanceMethod<&DataPathWrap::RemoveRelayKey>("removeRelayKey"),
                         InstanceMethod<&DataPathWrap::SetPeerPath>("setPeerPath"),
                         InstanceMethod<&DataPathWrap::SetRelayService>("setRelayService"),
                         InstanceMethod<&DataPathWrap::SendControlToPeer>("sendControlToPeer"),
                         InstanceMethod<&DataPathWrap::SendControlVia>("sendControlVia"),
                         InstanceMethod<&DataPathWrap::PeerStats>("peerStats"),
                         InstanceMethod<&DataPathWrap::Stats>("stats"),
                         InstanceMethod<&DataPathWrap::WatchTraffic>("watchTraffic"),
                         InstanceMethod<&DataPathWrap::Ref>("ref"),
                         InstanceMethod<&DataPathWrap::Unref>("unref"),
                         InstanceMethod<&DataPathWrap::Close>("close"),
                     });
}

// new DataPath(tun, { port?, mtu?, batch?, rekeyAfterTimeMs?, rejectAfterTimeMs?, ... }, onEvents)
DataPathWrap::DataPathWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DataPathWrap>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) ThrowTypeError(env, "tun must be a Tun");
  int tun_fd = TunWrap::FdOf(info[0].As<Napi::Object>());
  if (!info[1].IsObject()) ThrowTypeError(env, "options must be an object");
  Napi::Object options = info[1].As<Napi::Object>();
  Napi::Function on_events = FunctionArg(info, 2, "onEvents");

  EngineConfig config;
  Napi::Value port = options.Get("port");
  if (!port.IsUndefined()) {
    if (!port.IsNumber() || port.As<Napi::Number>().DoubleValue() < 0 || port.As<Napi::Number>().DoubleValue() > 65535)
      ThrowRangeError(env, "options.port must be 0..65535");
    config.port = static_cast<uint16_t>(port.As<Napi::Number>().Uint32Value());
  }
  Napi::Value mtu = options.Get("mtu");
  if (!mtu.IsUndefined()) {
    if (!mtu.IsNumber() || mtu.As<Napi::Number>().Uint32Value() < 576 || mtu.As<Napi::Number>().Uint32Value() > 9000)
      ThrowRangeError(env, "options.mtu must be 576..9000");
    config.mtu = mtu.As<Napi::Number>().Uint32Value();
  }
  Napi::Value queue = options.Get("tunQueueLength");
  if (!queue.IsUndefined()) {
    double q = queue.IsNumber() ? queue.As<Napi::Number>().DoubleValue() : -1;
    if (!(q >= 0 && q <= 1'000'000) || q != static_cast<uint32_t>(q))
      ThrowRangeError(env, "options.tunQueueLength must be an integer 0..1000000");
    config.tun_queue_length = static_cast<uint32_t>(q);
  }
  Napi::Value offload = options.Get("offload");
  if (!offload.IsUndefined()) {
    if (!offload.IsBoolean()) ThrowTypeError(env, "options.offload must be a boolean");
    config.offload = offload.As<Napi::Boolean>().Value();
  }
  Napi::Value addresses = options.Get("addresses");
  if (!addresses.IsUndefined()) {
    if (!addresses.IsArray()) ThrowTypeError(env, "options.addresses must be an array of CIDR strings");
    Napi::Array list = addresses.As<Napi::Array>();
    Guard(env, "datapath", "", [&]() -> Napi::Value {
      for (uint32_t i = 0; i < list.Length(); i++) {
        Napi::Value v = list.Get(i);
        if (!v.IsString()) ThrowTypeError(env, "options.addresses must be an array of CIDR strings");
        config.local_addresses.push_back(ParseIpPrefix(v.As<Napi::String>().Utf8Value(), kWhat));
      }
      return env.Undefined();
    });
  }
  config.rekey_after_time_ms = OptionalMs(options, "rekeyAfterTimeMs", config.rekey_after_time_ms);
  config.reject_after_time_ms = OptionalMs(options, "rejectAfterTimeMs", config.reject_after_time_ms);
  config.keepalive_timeout_ms = OptionalMs(options, "keepaliveTimeoutMs", config.keepalive_timeout_ms);
  config.rekey_timeout_ms = OptionalMs(options, "rekeyTimeoutMs", config.rekey_timeout_ms);
  config.sealed_per_peer_per_second = static_cast<double>(
      OptionalMs(options, "sealedPerPeerPerSecond", static_cast<int64_t>(config.sealed_per_peer_per_second)));
  config.sealed_per_peer_burst = config.sealed_per_peer_per_second;
  config.sealed_elsewhere_per_second = static_cast<double>(OptionalMs(
      options, "sealedElsewherePerSecond", static_cast<int64_t>(config.sealed_elsewhere_per_second)));
  config.strangers_per_second = static_cast<double>(
      OptionalMs(options, "strangersPerSecond", static_cast<int64_t>(config.strangers_per_second)));
  config.strangers_burst = config.strangers_per_second;

  events_ = Napi::ThreadSafeFunction::New(env, on_events, "overlay-datapath-events", 0, 1);
  // Capture a weak copy: the engine may be gone by the time a queued call runs.
  std::shared_ptr<std::weak_ptr<Engine>> weak = std::make_shared<std::weak_ptr<Engine>>();
  Napi::ThreadSafeFunction tsfn = events_;
  try {
    Guard(env, "datapath", "", [&]() -> Napi::Value {
      engine_ = std::make_shared<Engine>(tun_fd, config, [tsfn, weak]() mutable {
        tsfn.NonBlockingCall([weak](Napi::Env env, Napi::Function cb) {
          auto engine = weak->lock();
          if (!engine) return;
          auto events = engine->DrainEvents();
          if (events.empty()) return;
          Napi::Array arr = Napi::Array::New(env, events.size());
          uint32_t i = 0;
          for (const auto& e : events) arr.Set(i++, EventToJs(env, e));
          try {
            cb.Call({arr});
          } catch (const Napi::Error& e) {
            // A throwing handler is the application's bug: report it as an uncaught JavaScript
            // exception, as Node does for its own callbacks, instead of letting C++ abort.
            e.ThrowAsJavaScriptException();
          }
        });
      });
      *weak = engine_;
      engine_->Start();
      return env.Undefined();
    });
  } catch (...) {
    // A data path that fails to start (its port taken, no threads) releases what it made: the
    // engine's descriptors close with it, and the thread-safe function, which would otherwise keep
    // the event loop alive forever, is released; the caller gets the coded error and can go on.
    engine_.reset();
    events_.Release();
    throw;
  }
  napi_add_env_cleanup_hook(env, OnEnvCleanup, this);
  cleanup_hook_ = true;
}

DataPathWrap::~DataPathWrap() {
  Shutdown();
  if (cleanup_hook_) napi_remove_env_cleanup_hook(Env(), OnEnvCleanup, this);
}

void DataPathWrap::OnEnvCleanup(void* arg) {
  auto* self = static_cast<DataPathWrap*>(arg);
  self->cleanup_hook_ = false;
  self->Shutdown();
}

void DataPathWrap::Shutdown() {
  if (engine_) {
    engine_->Stop();
    engine_.reset();
    events_.Release();
  }
}

Engine& DataPathWrap::Running(Napi::Env env) {
  if (!engine_) {
    Napi::Error error = Napi::Error::New(env, "datapath: closed");
    error.Value().Set("code", "ECLOSED");
    throw error;
  }
  return *engine_;
}

Napi::Value DataPathWrap::Port(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), Running(info.Env()).port());
}

// setPeer(id, allowedIps: string[], endpoint?: string | null, { forward?: boolean })
Napi::Value DataPathWrap::SetPeer(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  PeerId id = PeerArg(info, 0);
  if (!info[1].IsArray()) ThrowTypeError(info.Env(), "allowedIps must be an array of CIDR strings");
  Napi::Array list = info[1].As<Napi::Array>();
  std::vector<IpPrefix> allowed;
  return Guard(info.Env(), "datapath", "", [&]() -> Napi::Value {
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Value v = list.Get(i);
      if (!v.IsString()) ThrowTypeError(info.Env(), "allowedIps must be an array of CIDR strings");
      allowed.push_back(ParseIpPrefix(v.As<Napi::String>().Utf8Value(), kWhat));
    }
    sockaddr_in6 ep{};
    bool has_ep = !info[2].IsUndefined() && !info[2].IsNull();
    if (has_ep) ep = EndpointArg(info, 2);
    bool forward = false;
    uint8_t public_key[kKeySize];
    bool has_key = false;
    if (!info[3].IsUndefined()) {
      if (!info[3].IsObject()) ThrowTypeError(info.Env(), "options must be an object");
      Napi::Object o = info[3].As<Napi::Object>();
      Napi::Value f = o.Get("forward");
      if (!f.IsUndefined() && !f.IsBoolean()) ThrowTypeError(info.Env(), "options.forward must be a boolean");
      forward = f.IsBoolean() && f.As<Napi::Boolean>().Value();
      if (!o.Get("publicKey").IsUndefined()) {
        CopyKey(info, o, "publicKey", public_key);
        has_key = true;
      }
    }
    engine.SetPeer(id, allowed, has_ep ? &ep : nullptr, forward, has_key ? public_key : nullptr);
    return info.Env().Undefined();
  });
}

// setSealedScreen(key: 32-byte Uint8Array)
Napi::Value DataPathWrap::SetSealedScreen(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  ByteSpan key = BytesArg(info, 0, "key");
  if (key.size != admission::kMac1KeySize) ThrowRangeError(info.Env(), "key must be 32 bytes");
  engine.SetSealedScreen(key.data);
  return info.Env().Undefined();
}

// setHandshakeScreen(mac1Key: 32 bytes, cookieKey: 32 bytes, { underLoadPerSecond?,
//   cookiesPerSecond?, perSourcePerSecond?, perSourceBurst? })
Napi::Value DataPathWrap::SetHandshakeScreen(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  ByteSpan mac1 = BytesArg(info, 0, "mac1Key");
  ByteSpan cookie = BytesArg(info, 1, "cookieKey");
  if (mac1.size != HandshakeScreen::kKeySize || cookie.size != HandshakeScreen::kKeySize)
    ThrowRangeError(info.Env(), "mac1Key and cookieKey must be 32 bytes");
  HandshakeScreenConfig config;
  if (!info[2].IsUndefined()) {
    if (!info[2].IsObject()) ThrowTypeError(info.Env(), "options must be an object");
    Napi::Object o = info[2].As<Napi::Object>();
    auto rate = [&](const char* key, double fallback, double min) {
      Napi::Value v = o.Get(key);
      if (v.IsUndefined()) return fallback;
      double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= min && d <= 1e6)) ThrowRangeError(info.Env(), std::string("options.") + key + " is out of range");
      return d;
    };
    config.under_load_per_second = rate("underLoadPerSecond", config.under_load_per_second, 0);
    config.cookies_per_second = rate("cookiesPerSecond", config.cookies_per_second, 1);
    config.per_source_per_second = rate("perSourcePerSecond", config.per_source_per_second, 1);
    config.per_source_burst = rate("perSourceBurst", config.per_source_burst, 1);
  }
  engine.SetHandshakeScreen(mac1.data, cookie.data, config);
  return info.Env().Undefined();
}

Napi::Value DataPathWrap::SetEndpoint(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  engine.SetEndpoint(PeerArg(info, 0), EndpointArg(info, 1));
  return info.Env().Undefined();
}

Napi::Value DataPathWrap::RemovePeer(const Napi::CallbackInfo& info) {
  Running(info.Env()).RemovePeer(PeerArg(info, 0));
  return info.Env().Undefined();
}

// installSession(peer, { localIndex, remoteIndex, sendKey, receiveKey, initiator })
Napi::Value DataPathWrap::InstallSession(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  PeerId id = PeerArg(info, 0);
  if (!info[1].IsObject()) ThrowTypeError(info.Env(), "session must be an object");
  Napi::Object s = info[1].As<Napi::Object>();
  SessionParams params{};
  Napi::Value local = s.Get("localIndex"), remote = s.Get("remoteIndex"), initiator = s.Get("initiator");
  if (!local.IsNumber() || !remote.IsNumber() || !initiator.IsBoolean())
    ThrowTypeError(info.Env(), "session needs localIndex, remoteIndex (numbers) and initiator (boolean)");
  params.local_index = local.As<Napi::Number>().Uint32Value();
  params.remote_index = remote.As<Napi::Number>().Uint32Value();
  params.we_initiated = initiator.As<Napi::Boolean>().Value();
  CopyKey(info, s, "sendKey", params.send_key);
  CopyKey(info, s, "receiveKey", params.recv_key);
  Napi::Value result = Guard(info.Env(), "datapath", "", [&]() -> Napi::Value {
    engine.InstallSession(id, params);
    return info.Env().Undefined();
  });
  OPENSSL_cleanse(&params, sizeof params);
  return result;
}

Napi::Value DataPathWrap::RemoveSession(const Napi::CallbackInfo& info) {
  Running(info.Env()).RemoveSession(UintArg(info, 0, "localIndex", 0, 0xffffffffu));
  return info.Env().Undefined();
}

Napi::Value DataPathWrap::ClearSessions(const Napi::CallbackInfo& info) {
  Running(info.Env()).ClearSessions(PeerArg(info, 0));
  return info.Env().Undefined();
}

// sendControl(bytes, endpoint, socket?, ttl?): handshake and discovery messages from core/; from
// extra socket `socket` when given (0: the main one), else from the one bound to `endpoint`; with
// IP TTL `ttl` (1..255) for this datagram alone when given.
Napi::Value DataPathWrap::SendControl(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  ByteSpan bytes = BytesArg(info, 0, "data");
  sockaddr_in6 to = EndpointArg(info, 1);
  if (bytes.size == 0 || bytes.size > 65507) ThrowRangeError(info.Env(), "data must be 1..65507 bytes");
  int socket = info.Length() > 2 && !info[2].IsUndefined()
                   ? static_cast<int>(UintArg(info, 2, "socket", 0, ExtraSockets::kMax))
                   : Engine::kBoundSocket;
  int ttl = info.Length() > 3 && !info[3].IsUndefined() ? static_cast<int>(UintArg(info, 3, "ttl", 1, 255)) : 0;
  // Stamped before the send: a sender preempted as its sendto returns (the receiver it just woke
  // runs first, on a busy machine) would otherwise stamp after the answer had arrived (issue 13).
  int64_t at_ns = MonotonicNs();
  int err = engine.SendControl(bytes.data, bytes.size, to, socket, ttl);
  if (err == -1) ThrowRangeError(info.Env(), "socket " + std::to_string(socket) + " is not open");
  if (err != 0) throw ToJsError(info.Env(), SysError(err, "sendto", kWhat, "send to " + FormatEndpoint(to)), kWhat);
  return Napi::Number::New(info.Env(), double(at_ns) / 1e6);
}

// openSocket(): { socket, port } of a new extra socket, or null when all are open.
Napi::Value DataPathWrap::OpenSocket(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  return Guard(info.Env(), "datapath", "", [&]() -> Napi::Value {
    uint16_t port = 0;
    uint16_t id = engine.OpenSocket(&port);
    if (id == 0) return info.Env().Null();
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("socket", id);
    o.Set("port", port);
    return o;
  });
}

Napi::Value DataPathWrap::CloseSocket(const Napi::CallbackInfo& info) {
  Running(info.Env()).CloseSocket(static_cast<uint16_t>(UintArg(info, 0, "socket", 1, ExtraSockets::kMax)));
  return info.Env().Undefined();
}

// bindSocket(endpoint, socket): what goes to `endpoint` without naming a socket leaves from `socket` (0: unbind).
Napi::Value DataPathWrap::BindSocket(const Napi::CallbackInfo& info) {
  Engine& engine = Running(info.Env());
  sockaddr_in6 to = EndpointArg(info, 0);
  engine.BindSocket(to, static_cast<uint16_t>(UintArg(info, 1, "socket", 0, ExtraSockets::kMax)));
  return info.Env().Undefined();
}

// socketStats(): [{ socket, port, rxPackets, txPackets }] of the extra sockets open.
Napi::Value DataPathWrap::SocketStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto stats = Running(env).SocketStats();
  Napi::Array arr = Napi::Array::New(env, stats.size());
  for (uint32_t i = 0; i < stats.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("socket", stats[i].id);
    o.Set("port", stats[i].port);
    o.Set("rxPackets", Napi::Number::New(env, double(stats[i].rx_packets)));
    o.Set("txPackets", Napi::Number::New(env, double(stats[i].tx_packets)));
    arr.Set(i, o);
  }
  return arr;
}

Napi::Value DataPathWrap::SendKeepalive(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), Running(info.Env()).SendKeepalive(PeerArg(info, 0)));
}

Napi::Value DataPathWrap::PeerStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto snap = Running(env).Snapshot(PeerArg(info, 0));
  if (!snap.found) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxBytes", Napi::Number::New(env, static_cast<double>(snap.rx_bytes)));
  o.Set("rxPackets", Napi::Number::New(env, static_cast<double>(snap.rx_packets)));
  o.Set("txBytes", Napi::Number::New(env, static_cast<double>(snap.tx_bytes)));
  o.Set("txPackets", Napi::Number::New(env, static_cast<double>(snap.tx_packets)));
  // Ages in ms (null: never), so JavaScript needs no access to the native monotonic clock.
  int64_t now = MonotonicMs();
  auto age = [&](int64_t t) -> Napi::Value { return t == 0 ? env.Null() : Napi::Number::New(env, double(now - t)); };
  o.Set("lastRxAgeMs", age(snap.last_rx_ms));
  o.Set("lastRxDataAgeMs", age(snap.last_rx_data_ms));
  o.Set("lastTxAgeMs", age(snap.last_tx_ms));
  o.Set("lastTxDataAgeMs", age(snap.last_tx_data_ms));
  o.Set("endpoint", snap.endpoint.set ? Napi::Value(Napi::String::New(env, FormatEndpoint(snap.endpoint.addr)))
                                      : env.Null());
  o.Set("currentIndex", snap.current_index ? Napi::Value(Napi::Number::New(env, snap.current_index)) : env.Null());
  o.Set("previousIndex", snap.previous_index ? Napi::Value(Napi::Number::New(env, snap.previous_index)) : env.Null());
  o.Set("nextIndex", snap.next_index ? Napi::Value(Napi::Number::New(env, snap.next_index)) : env.Null());
  o.Set("currentAgeMs", snap.current_age_ms < 0 ? env.Null() : Napi::Number::New(env, double(snap.current_age_ms)));
  o.Set("staged", Napi::Number::New(env, double(snap.staged)));
  o.Set("relayVia", snap.relay_via == kNoPeer ? env.Null() : Napi::Number::New(env, snap.relay_via));
  o.Set("relayKey", Napi::Boolean::New(env, snap.has_relay_key));
  return o;
}

Napi::Value DataPathWrap::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Engine& engine = Running(env);
  engine.RefreshDeviceCounters();
  const EngineCounters& c = engine.counters();
  Napi::Object o = Napi::Object::New(env);
  auto put = [&](const char* k, const std::atomic<uint64_t>& v) { o.Set(k, Napi::Number::New(env, double(v.load()))); };
#define OVERLAY_COUNTER_PUT(field, js, doc) put(#js, c.field);
  OVERLAY_ENGINE_COUNTERS(OVERLAY_COUNTER_PUT)
#undef OVERLAY_COUNTER_PUT
  return o;
}

// watchTraffic(): one 'traffic' event at the next transport either thread moves (Engine::WatchTraffic).
Napi::Value DataPathWrap::WatchTraffic(const Napi::CallbackInfo& info) {
  Running(info.Env()).WatchTraffic();
  return info.Env().Undefined();
}

Napi::Value DataPathWrap::Ref(const Napi::CallbackInfo& info) {
  if (engine_) events_.Ref(info.Env());
  return info.Env().Undefined();
}

Napi::Value DataPathWrap::Unref(const Napi::CallbackInfo& info) {
  if (engine_) events_.Unref(info.Env());
  return info.Env().Undefined();
}

Napi::Value DataPathWrap::Close(const Napi::CallbackInfo& info) {
  Shutdown();
  return info.Env().Undefined();
}

}  // namespace overlay
