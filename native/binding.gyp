{
  "targets": [
    {
      "target_name": "tun_napi",
      # One file per role: the OS device, address configuration, argument checks, error codes,
      # the JavaScript classes, and the data path (src/datapath/: UDP socket, peer table, the
      # send and receive threads). ChaCha20-Poly1305 comes from OpenSSL's EVP API: its headers
      # ship with Node's, and its symbols are resolved from the node binary at load time.
      "sources": [
        "src/addon.cc",
        "src/errors.cc",
        "src/file_lock.cc",
        "src/ip_prefix.cc",
        "src/js_args.cc",
        "src/netlink.cc",
        "src/tun_device.cc",
        "src/tun_wrap.cc",
        "src/datapath_wrap.cc",
        "src/datapath_relay_wrap.cc",
        "src/testing_wrap.cc",
        "src/datapath/engine.cc",
        "src/datapath/engine_receive.cc",
        "src/datapath/engine_send.cc",
        "src/datapath/relay.cc",
        "src/datapath/extra_sockets.cc",
        "src/datapath/udp_socket.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-O2", "-fexceptions", "-Wall", "-Wextra", "-pthread"],
      "ldflags": ["-pthread"],
      "cflags_cc!": ["-fno-exceptions"]
    }
  ]
}
