'use strict';
// node-gyp-build finds build/Release (or a prebuild) next to this file.
module.exports = require('node-gyp-build')(__dirname);
