// flock(2) for JavaScript: Node has no binding for it. core/daemon/nodeLock.ts holds one for the
// node's whole life, so the kernel itself says whether a node runs for a state directory and
// drops the lock when its holder dies, kill -9 included.
#pragma once

#include <napi.h>

namespace overlay {

// tryLockFile(fd): takes an exclusive flock on fd without waiting; false when another open file
// description holds one. Other failures throw an Error with code ELOCK and the errno.
Napi::Value TryLockFile(const Napi::CallbackInfo& info);

}  // namespace overlay
