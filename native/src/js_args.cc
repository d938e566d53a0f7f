#include "js_args.h"

#include <cmath>

namespace overlay {

void ThrowTypeError(Napi::Env env, const std::string& message) {
  Napi::TypeError error = Napi::TypeError::New(env, message);
  error.Value().Set("code", "ERR_INVALID_ARG_TYPE");
  throw error;
}

void ThrowRangeError(Napi::Env env, const std::string& message) {
  Napi::RangeError error = Napi::RangeError::New(env, message);
  error.Value().Set("code", "ERR_OUT_OF_RANGE");
  throw error;
}

ByteSpan BytesArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowTypeError(info.Env(), std::string(what) + " must be a Buffer or Uint8Array");
  }
  auto bytes = value.As<Napi::Uint8Array>();
  return ByteSpan{bytes.Data(), bytes.ByteLength()};
}

LengthSpan LengthsArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != napi_uint32_array) {
    ThrowTypeError(info.Env(), std::string(what) + " must be a Uint32Array");
  }
  auto lens = value.As<Napi::Uint32Array>();
  return LengthSpan{lens.Data(), lens.ElementLength()};
}

uint32_t UintArg(const Napi::CallbackInfo& info, size_t index, const char* what, uint32_t min, uint32_t max) {
  Napi::Value value = info[index];
  if (!value.IsNumber()) ThrowTypeError(info.Env(), std::string(what) + " must be a number");
  double number = value.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(number) || std::floor(number) != number || number < min || number > max) {
    ThrowRangeError(info.Env(), std::string(what) + " must be an integer from " + std::to_string(min) +
                                    " to " + std::to_string(max));
  }
  return static_cast<uint32_t>(number);
}

uint32_t OptionalUintArg(const Napi::CallbackInfo& info, size_t index, const char* what, uint32_t min,
                         uint32_t max, uint32_t fallback) {
  if (info[index].IsUndefined()) return fallback;
  return UintArg(info, index, what, min, max);
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsString()) ThrowTypeError(info.Env(), std::string(what) + " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

Napi::Function FunctionArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  Napi::Value value = info[index];
  if (!value.IsFunction()) ThrowTypeError(info.Env(), std::string(what) + " must be a function");
  return value.As<Napi::Function>();
}

}  // namespace overlay
