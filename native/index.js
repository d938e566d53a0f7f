'use strict';
// node-gyp-build finds build/Release (or a prebuild) next to this file.
const binding = require('node-gyp-build')(__dirname);

const TUN_ERROR_CODES = new Set(['EPERM', 'ENOTUN', 'EBUSY', 'EADDRINUSE', 'EINVAL', 'ETUN']);

function isTunError(error) {
  return error instanceof Error && TUN_ERROR_CODES.has(error.code) && typeof error.device === 'string';
}

// Spelled out one by one so Node's ESM loader can see the names (`import { Tun } from 'tun-napi'`).
exports.abiVersion = binding.abiVersion;
exports.maxNameLength = binding.maxNameLength;
exports.Tun = binding.Tun;
exports.DataPath = binding.DataPath;
exports.testing = binding.testing;
exports.tryLockFile = binding.tryLockFile;
exports.isTunError = isTunError;
