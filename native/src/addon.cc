// Module entry: exports the classes; each lives in its own file by role.
#include <napi.h>

#include "datapath_wrap.h"
#include "file_lock.h"
#include "testing_wrap.h"
#include "tun_device.h"
#include "tun_wrap.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  // Bumped when the JavaScript-visible API changes incompatibly.
  exports.Set("abiVersion", Napi::Number::New(env, 1));
  exports.Set("maxNameLength", Napi::Number::New(env, static_cast<double>(overlay::kMaxNameLength)));
  exports.Set("Tun", overlay::TunWrap::Define(env));
  exports.Set("DataPath", overlay::DataPathWrap::Define(env));
  exports.Set("testing", overlay::DefineTesting(env));
  exports.Set("tryLockFile", Napi::Function::New(env, overlay::TryLockFile, "tryLockFile"));
  return exports;
}

}  // namespace

NODE_API_MODULE(tun_napi, Init)
