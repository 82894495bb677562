# Build of the native XAPI client: the product module xapi.node, and xapi_testing.node, which holds
# the test- and benchmark-only entry points (codec exports, decodeIntoMirror) so the product
# module never contains them. Both link xapi_core, a static library of the shared C++ (codec,
# transport, session, event stream, mirror, value conversion). C++17, C++ exceptions on
# (NAPI_CPP_EXCEPTIONS) everywhere. `-Dsanitize=1` adds ASan/UBSan (used by `npm run test:asan`).
# Node's headers (include/node, with openssl/) come via node-gyp. Fuzz targets are built by
# addon/fuzz/run.sh, never here.
{
  'variables': {
    'sanitize%': 0,
  },
  'target_defaults': {
    'include_dirs': [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      'src',
    ],
    # _ALL: a std::exception (bad_alloc included) escaping a callback becomes a JS Error.
    'defines': ['NAPI_VERSION=8', 'NAPI_CPP_EXCEPTIONS', 'NODE_ADDON_API_CPP_EXCEPTIONS_ALL'],
    'cflags!': ['-fno-exceptions'],
    'cflags_cc!': ['-fno-exceptions', '-fno-rtti', '-std=gnu++17', '-std=gnu++20'],
    'cflags_cc': ['-std=c++17', '-fexceptions', '-Wall', '-Wextra', '-Wno-unused-parameter'],
    'configurations': {
      'Release': {
        'cflags': ['-O3'],
        'cflags_cc': ['-O3'],
      },
    },
    'conditions': [
      ['sanitize==1', {
        'cflags': ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer', '-g'],
        'cflags_cc': ['-fsanitize=address,undefined', '-fno-sanitize-recover=undefined', '-fno-omit-frame-pointer', '-g'],
        'ldflags': ['-fsanitize=address,undefined'],
      }],
    ],
  },
  'targets': [
    {
      'target_name': 'xapi_core',
      'type': 'static_library',
      'sources': [
        'src/napi/convert.cc',
        'src/napi/schema_js.cc',
        'src/xapi/bulk_decode.cc',
        'src/xapi/datetime.cc',
        'src/xapi/event_stream.cc',
        'src/xapi/http.cc',
        'src/xapi/jsonrpc.cc',
        'src/xapi/mirror.cc',
        'src/xapi/row_json.cc',
        'src/xapi/rpc.cc',
        'src/xapi/schema.cc',
        'src/xapi/session.cc',
        'src/xapi/transport.cc',
        'src/xapi/utf8.cc',
        'src/xapi/work_share.cc',
        'src/xapi/xmlrpc_decode.cc',
        'src/xapi/xmlrpc_encode.cc',
      ],
    },
    {
      'target_name': 'xapi',
      'dependencies': ['xapi_core'],
      'sources': [
        'src/module.cc',
        'src/napi/call_worker.cc',
        'src/napi/client_wrap.cc',
        'src/napi/errors.cc',
        'src/napi/event_pump.cc',
        'src/napi/mirror_js.cc',
      ],
    },
    {
      'target_name': 'xapi_testing',
      'dependencies': ['xapi_core'],
      'sources': [
        'src/testing_module.cc',
        'src/napi/codec_exports.cc',
        'src/napi/mirror_exports.cc',
      ],
    },
  ],
}
