// The JavaScript `DataPath` class: hands a TUN device and a UDP port to the data-path threads,
// and gives core/ the controls it needs — peers, routes, endpoints, sessions, control messages —
// plus counters and events coming back.
#pragma once

#include <napi.h>

#include <memory>

#include "datapath/engine.h"

namespace overlay {

class DataPathWrap : public Napi::ObjectWrap<DataPathWrap> {
 public:
  static Napi::Function Define(Napi::Env env);

  explicit DataPathWrap(const Napi::CallbackInfo& info);
  ~DataPathWrap() override;

 private:
  Napi::Value Port(const Napi::CallbackInfo& info);
  Napi::Value SetPeer(const Napi::CallbackInfo& info);
  Napi::Value SetSealedScreen(const Napi::CallbackInfo& info);
  Napi::Value SetHandshakeScreen(const Napi::CallbackInfo& info);
  Napi::Value SetEndpoint(const Napi::CallbackInfo& info);
  Napi::Value RemovePeer(const Napi::CallbackInfo& info);
  Napi::Value InstallSession(const Napi::CallbackInfo& info);
  Napi::Value RemoveSession(const Napi::CallbackInfo& info);
  Napi::Value ClearSessions(const Napi::CallbackInfo& info);
  Napi::Value SendControl(const Napi::CallbackInfo& info);
  Napi::Value OpenSocket(const Napi::CallbackInfo& info);
  Napi::Value CloseSocket(const Napi::CallbackInfo& info);
  Napi::Value BindSocket(const Napi::CallbackInfo& info);
  Napi::Value SocketStats(const Napi::CallbackInfo& info);
  Napi::Value SendKeepalive(const Napi::CallbackInfo& info);
  Napi::Value GetRelayEpoch(const Napi::CallbackInfo& info);
  Napi::Value SetRelayKey(const Napi::CallbackInfo& info);
  Napi::Value RemoveRelayKey(const Napi::CallbackInfo& info);
  Napi::Value SetPeerPath(const Napi::CallbackInfo& info);
  Napi::Value SetRelayService(const Napi::CallbackInfo& info);
  Napi::Value SendControlToPeer(const Napi::CallbackInfo& info);
  Napi::Value SendControlVia(const Napi::CallbackInfo& info);
  Napi::Value PeerStats(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value WatchTraffic(const Napi::CallbackInfo& info);
  Napi::Value Ref(const Napi::CallbackInfo& info);
  Napi::Value Unref(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  Engine& Running(Napi::Env env);
  void Shutdown();
  static void OnEnvCleanup(void* arg);

  std::shared_ptr<Engine> engine_;
  Napi::ThreadSafeFunction events_;
  bool cleanup_hook_ = false;
};

}  // namespace overlay
