#include "testing_wrap.h"

#include <cstring>
#include <vector>

#include "datapath/aead.h"
#include "datapath/allowed_ips.h"
#include "datapath/gro.h"
#include "datapath/tso.h"
#include "datapath/virtio_net.h"
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

// tsoSplit(vnetHeaderAndPacket, mtu) -> the segments, or null when the data path would drop it
// (counted there as tunGsoBad or tunReadBad). Without GSO: the packet itself, its checksum
// finished if the header asks for it. As the send thread does (engine_send.cc).
Napi::Value TsoSplit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ByteSpan read = BytesArg(info, 0, "read");
  size_t mtu = UintArg(info, 1, "mtu", 68, 65535);
  virtio::Header h;
  if (!virtio::Parse(read.data, read.size, &h)) return env.Null();
  std::vector<uint8_t> packet(read.data + virtio::kHeaderSize, read.data + read.size);
  Napi::Array out = Napi::Array::New(env);
  if (h.gso_type == virtio::kGsoNone) {
    if (packet.size() > mtu || ((h.flags & virtio::kNeedsCsum) && !tso::CompleteChecksum(h, packet.data(), packet.size())))
      return env.Null();
    out.Set(0u, Napi::Buffer<uint8_t>::Copy(env, packet.data(), packet.size()));
    return out;
  }
  tso::Plan plan;
  if (!tso::PlanSegments(h, packet.data(), packet.size(), mtu, &plan)) return env.Null();
  std::vector<uint8_t> segment(mtu);
  for (size_t k = 0; k < plan.segments; k++) {
    size_t n = tso::WriteSegment(plan, packet.data(), k, segment.data());
    out.Set(static_cast<uint32_t>(k), Napi::Buffer<uint8_t>::Copy(env, segment.data(), n));
  }
  return out;
}

// groCoalesce(packets) -> what the receive thread writes for them, in order: each write is the
// virtio-net header and the bytes behind it (a super-packet, or a packet as it came).
Napi::Value GroCoalesce(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsArray()) ThrowTypeError(env, "packets must be an array of Uint8Array");
  Napi::Array list = info[0].As<Napi::Array>();
  size_t n = list.Length();
  std::vector<std::vector<uint8_t>> copies(n);
  std::vector<uint8_t*> packets(n);
  std::vector<size_t> lens(n);
  for (size_t i = 0; i < n; i++) {
    Napi::Value v = list.Get(static_cast<uint32_t>(i));
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      ThrowTypeError(env, "packets must be an array of Uint8Array");
    Napi::Uint8Array a = v.As<Napi::Uint8Array>();
    copies[i].assign(a.Data(), a.Data() + a.ByteLength());
    packets[i] = copies[i].data();
    lens[i] = copies[i].size();
  }
  std::vector<gro::Group> groups(n);
  std::vector<uint32_t> next(n);
  std::vector<gro::detail::Segment> segments(n);
  gro::Plan plan{groups.data(), next.data()};
  gro::PlanBatch(packets.data(), lens.data(), n, segments.data(), &plan);
  Napi::Array out = Napi::Array::New(env);
  for (size_t g = 0; g < plan.group_count; g++) {
    const gro::Group& group = groups[g];
    virtio::Header h;
    if (group.count > 1) h = gro::Finish(packets.data(), segments.data(), group);
    std::vector<uint8_t> bytes(virtio::kHeaderSize);
    virtio::Write(h, bytes.data());
    bytes.insert(bytes.end(), packets[group.first], packets[group.first] + lens[group.first]);
    for (uint32_t i = next[group.first]; i != gro::kEnd; i = next[i]) {
      const uint8_t* payload = packets[i] + segments[i].ip_len + segments[i].tcp_len;
      bytes.insert(bytes.end(), payload, payload + segments[i].payload);
    }
    out.Set(static_cast<uint32_t>(g), Napi::Buffer<uint8_t>::Copy(env, bytes.data(), bytes.size()));
  }
  return out;
}

}  // namespace

Napi::Object DefineTesting(Napi::Env env) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("ReplayWindow", ReplayWindowWrap::Define(env));
  testing.Set("AllowedIps", AllowedIpsWrap::Define(env));
  testing.Set("seal", Napi::Function::New(env, Seal, "seal"));
  testing.Set("open", Napi::Function::New(env, Open, "open"));
  testing.Set("tsoSplit", Napi::Function::New(env, TsoSplit, "tsoSplit"));
  testing.Set("groCoalesce", Napi::Function::New(env, GroCoalesce, "groCoalesce"));
  testing.Set("replayWindowBits", Napi::Number::New(env, ReplayWindow::kBits));
  return testing;
}

}  // namespace overlay
