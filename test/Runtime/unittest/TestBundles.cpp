//===- TestBundles.cpp - Manifests shared by the unit tests ---------------===//

#include "TestUtil.h"

const std::string &fdtest::validManifest() {
  // Keep in sync with Inputs/valid.fdb (FileLoadMatchesMemory checks it).
  static const std::string text = R"json({
  "format": "fd-bundle",
  "version": 1,
  "producer": "hand-written test bundle",
  "modules": [
    {
      "name": "fd_attn_llama3",
      "chip": "sm_90",
      "features": "+ptx80",
      "ptx": "//\n// Stub PTX: the entries exist but do nothing.\n//\n.version 8.0\n.target sm_90\n.address_size 64\n\n.visible .entry fd_partial_online()\n{\n\tret;\n}\n\n.visible .entry fd_merge_online()\n{\n\tret;\n}\n"
    }
  ],
  "entries": [
    {
      "name": "llama3_decode",
      "op": "decode_attention",
      "dtype": "f16",
      "num_q_heads": 32, "num_kv_heads": 8, "head_dim": 128,
      "scale": 0.08838834764831845,
      "softmax": { "kind": "online" },
      "split": {
        "mode": "auto",
        "num_splits": 0, "chunk_size": 0,
        "ctas_per_sm": 2, "min_chunk": 256, "chunk_align": 64, "max_splits": 256
      },
      "workspace": [
        { "name": "partial_acc", "elem": "f32", "shape": ["B", "Hq", "S", "D"] },
        { "name": "partial_max", "elem": "f32", "shape": ["B", "Hq", "S"] },
        { "name": "partial_sum", "elem": "f32", "shape": ["B", "Hq", "S"] }
      ],
      "kernels": [
        {
          "symbol": "fd_partial_online",
          "module": "fd_attn_llama3",
          "role": "partial",
          "grid": ["S", "Hkv", "B"],
          "block": [128, 1, 1],
          "static_smem": 2048, "dynamic_smem": 0,
          "args": [
            { "kind": "memref", "bind": "q",    "elem": "f16", "rank": 3 },
            { "kind": "memref", "bind": "k",    "elem": "f16", "rank": 4 },
            { "kind": "memref", "bind": "v",    "elem": "f16", "rank": 4 },
            { "kind": "memref", "bind": "lens", "elem": "i32", "rank": 1 },
            { "kind": "memref", "bind": "partial_acc", "elem": "f32", "rank": 4 },
            { "kind": "memref", "bind": "partial_max", "elem": "f32", "rank": 3 },
            { "kind": "memref", "bind": "partial_sum", "elem": "f32", "rank": 3 },
            { "kind": "scalar", "bind": "chunk", "type": "i64" }
          ],
          "resources": { "registers": 64, "spill_bytes": 0, "shared_bytes": 2048 }
        },
        {
          "symbol": "fd_merge_online",
          "module": "fd_attn_llama3",
          "role": "merge",
          "grid": ["Hq", "B"],
          "block": [128, 1, 1],
          "static_smem": 0, "dynamic_smem": 0,
          "args": [
            { "kind": "memref", "bind": "partial_acc", "elem": "f32", "rank": 4 },
            { "kind": "memref", "bind": "partial_max", "elem": "f32", "rank": 3 },
            { "kind": "memref", "bind": "partial_sum", "elem": "f32", "rank": 3 },
            { "kind": "memref", "bind": "lens", "elem": "i32", "rank": 1 },
            { "kind": "memref", "bind": "out",  "elem": "f16", "rank": 3 },
            { "kind": "scalar", "bind": "num_splits", "type": "i64" }
          ]
        }
      ]
    }
  ]
}
)json";
  return text;
}
