{
  "targets": [
    {
      "target_name": "tun_napi",
      # One file per role: the OS device, address configuration, argument checks, error codes,
      # and the JavaScript class. The UDP socket and the data-path threads join as their own
      # files. ChaCha20-Poly1305 will come from OpenSSL's EVP API, whose headers ship with
      # Node's (<openssl/evp.h> resolves through node-gyp's include path already).
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/ip_prefix.cc",
        "src/js_args.cc",
        "src/netlink.cc",
        "src/tun_device.cc",
        "src/tun_wrap.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wextra"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
