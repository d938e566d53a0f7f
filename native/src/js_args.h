// Checks on JavaScript arguments. A wrong type is a TypeError and a value out of range a
// RangeError, both with Node's own codes, so a bad call from JavaScript can never reach a
// system call with a wild pointer or length.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace overlay {

struct ByteSpan {
  uint8_t* data;
  size_t size;
};

struct LengthSpan {
  uint32_t* data;
  size_t size;  // in elements
};

[[noreturn]] void ThrowTypeError(Napi::Env env, const std::string& message);
[[noreturn]] void ThrowRangeError(Napi::Env env, const std::string& message);

// info[index] as a Uint8Array (a Buffer is one).
ByteSpan BytesArg(const Napi::CallbackInfo& info, size_t index, const char* what);
// info[index] as a Uint32Array.
LengthSpan LengthsArg(const Napi::CallbackInfo& info, size_t index, const char* what);
// info[index] as an integer in [min, max]; `fallback` when undefined and optional.
uint32_t UintArg(const Napi::CallbackInfo& info, size_t index, const char* what, uint32_t min, uint32_t max);
uint32_t OptionalUintArg(const Napi::CallbackInfo& info, size_t index, const char* what, uint32_t min,
                         uint32_t max, uint32_t fallback);
std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what);
Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* what);

}  // namespace overlay
