// Small pieces of the data path exposed to JavaScript so that AVA property tests can check them
// against simple models (the replay window, the route table, the transport AEAD). Not used by
// core/; exported under `testing` to say so.
#pragma once

#include <napi.h>

namespace overlay {

Napi::Object DefineTesting(Napi::Env env);

}  // namespace overlay
