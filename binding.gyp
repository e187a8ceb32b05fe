# The native backend's addon (src/backend/native), built from source by node-gyp when the package
# installs (scripts/build-native.mjs). No -march flag: the AVX-512 and AVX2 kernels are compiled
# per function (#pragma GCC target) and chosen at run time, so the binary runs on any CPU of its
# architecture.
{
  "targets": [
    {
      "target_name": "rnnkit_native",
      "sources": ["src/backend/native/addon.cc", "src/backend/native/kernels.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=gnu++17", "-O3", "-fexceptions", "-ffp-contract=fast", "-fno-math-errno", "-fno-trapping-math"],
      "conditions": [["OS=='linux'", { "libraries": ["-ldl"] }]],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-std=gnu++17", "-O3", "-ffp-contract=fast", "-fno-math-errno", "-fno-trapping-math"]
      },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
    }
  ]
}
