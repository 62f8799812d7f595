//===- TestBundles.cpp - Manifests shared by the unit tests ---------------===//

#include "TestUtil.h"

const std::string &fdtest::validManifest() {
  // Keep in sync with Inputs/valid.fdb (BundleFileLoadMatchesMemory checks
  // it).
  static const std::string text = R"json({
  "format": "fd-bundle",
  "version": 2,
  "producer": "hand-written test bundle",
  "modules": [
    {
      "name": "fd_attn_llama3",
      "chip": "sm_90",
      "features": "+ptx80",
      "ptx": "//\n// Stub kernels with the parameter lists of the docs/bundle.md example.\n// They do nothing.\n//\n.version 8.0\n.target sm_90\n.address_size 64\n\n.visible .entry fd_partial_online(\n\t.param .u64 fd_partial_online_param_0,\n\t.param .u64 fd_partial_online_param_1,\n\t.param .u64 fd_partial_online_param_2,\n\t.param .u64 fd_partial_online_param_3,\n\t.param .u64 fd_partial_online_param_4,\n\t.param .u64 fd_partial_online_param_5,\n\t.param .u64 fd_partial_online_param_6,\n\t.param .u64 fd_partial_online_param_7,\n\t.param .u64 fd_partial_online_param_8,\n\t.param .u64 fd_partial_online_param_9,\n\t.param .u64 fd_partial_online_param_10,\n\t.param .u64 fd_partial_online_param_11,\n\t.param .u64 fd_partial_online_param_12,\n\t.param .u64 fd_partial_online_param_13,\n\t.param .u64 fd_partial_online_param_14,\n\t.param .u64 fd_partial_online_param_15,\n\t.param .u64 fd_partial_online_param_16,\n\t.param .u64 fd_partial_online_param_17,\n\t.param .u64 fd_partial_online_param_18,\n\t.param .u64 fd_partial_online_param_19,\n\t.param .u64 fd_partial_online_param_20,\n\t.param .u64 fd_partial_online_param_21,\n\t.param .u64 fd_partial_online_param_22,\n\t.param .u64 fd_partial_online_param_23,\n\t.param .u64 fd_partial_online_param_24,\n\t.param .u64 fd_partial_online_param_25,\n\t.param .u64 fd_partial_online_param_26,\n\t.param .u64 fd_partial_online_param_27,\n\t.param .u64 fd_partial_online_param_28,\n\t.param .u64 fd_partial_online_param_29,\n\t.param .u64 fd_partial_online_param_30,\n\t.param .u64 fd_partial_online_param_31,\n\t.param .u64 fd_partial_online_param_32,\n\t.param .u64 fd_partial_online_param_33,\n\t.param .u64 fd_partial_online_param_34,\n\t.param .u64 fd_partial_online_param_35,\n\t.param .u64 fd_partial_online_param_36,\n\t.param .u64 fd_partial_online_param_37,\n\t.param .u64 fd_partial_online_param_38,\n\t.param .u64 fd_partial_online_param_39,\n\t.param .u64 fd_partial_online_param_40,\n\t.param .u64 fd_partial_online_param_41,\n\t.param .u64 fd_partial_online_param_42,\n\t.param .u64 fd_partial_online_param_43,\n\t.param .u64 fd_partial_online_param_44,\n\t.param .u64 fd_partial_online_param_45,\n\t.param .u64 fd_partial_online_param_46,\n\t.param .u64 fd_partial_online_param_47,\n\t.param .u64 fd_partial_online_param_48,\n\t.param .u64 fd_partial_online_param_49,\n\t.param .u64 fd_partial_online_param_50,\n\t.param .u64 fd_partial_online_param_51,\n\t.param .u64 fd_partial_online_param_52,\n\t.param .u64 fd_partial_online_param_53,\n\t.param .u64 fd_partial_online_param_54,\n\t.param .u64 fd_partial_online_param_55,\n\t.param .u64 fd_partial_online_param_56,\n\t.param .u64 fd_partial_online_param_57,\n\t.param .u64 fd_partial_online_param_58,\n\t.param .u64 fd_partial_online_param_59,\n\t.param .u64 fd_partial_online_param_60,\n\t.param .u64 fd_partial_online_param_61,\n\t.param .u64 fd_partial_online_param_62,\n\t.param .u64 fd_partial_online_param_63,\n\t.param .u64 fd_partial_online_param_64,\n\t.param .u64 fd_partial_online_param_65\n)\n{\n\tret;\n}\n\n.visible .entry fd_merge_online(\n\t.param .u64 fd_merge_online_param_0,\n\t.param .u64 fd_merge_online_param_1,\n\t.param .u64 fd_merge_online_param_2,\n\t.param .u64 fd_merge_online_param_3,\n\t.param .u64 fd_merge_online_param_4,\n\t.param .u64 fd_merge_online_param_5,\n\t.param .u64 fd_merge_online_param_6,\n\t.param .u64 fd_merge_online_param_7,\n\t.param .u64 fd_merge_online_param_8,\n\t.param .u64 fd_merge_online_param_9,\n\t.param .u64 fd_merge_online_param_10,\n\t.param .u64 fd_merge_online_param_11,\n\t.param .u64 fd_merge_online_param_12,\n\t.param .u64 fd_merge_online_param_13,\n\t.param .u64 fd_merge_online_param_14,\n\t.param .u64 fd_merge_online_param_15,\n\t.param .u64 fd_merge_online_param_16,\n\t.param .u64 fd_merge_online_param_17,\n\t.param .u64 fd_merge_online_param_18,\n\t.param .u64 fd_merge_online_param_19,\n\t.param .u64 fd_merge_online_param_20,\n\t.param .u64 fd_merge_online_param_21,\n\t.param .u64 fd_merge_online_param_22,\n\t.param .u64 fd_merge_online_param_23,\n\t.param .u64 fd_merge_online_param_24,\n\t.param .u64 fd_merge_online_param_25,\n\t.param .u64 fd_merge_online_param_26,\n\t.param .u64 fd_merge_online_param_27,\n\t.param .u64 fd_merge_online_param_28,\n\t.param .u64 fd_merge_online_param_29,\n\t.param .u64 fd_merge_online_param_30,\n\t.param .u64 fd_merge_online_param_31,\n\t.param .u64 fd_merge_online_param_32,\n\t.param .u64 fd_merge_online_param_33,\n\t.param .u64 fd_merge_online_param_34,\n\t.param .u64 fd_merge_online_param_35,\n\t.param .u64 fd_merge_online_param_36,\n\t.param .u64 fd_merge_online_param_37,\n\t.param .u64 fd_merge_online_param_38,\n\t.param .u64 fd_merge_online_param_39,\n\t.param .u64 fd_merge_online_param_40,\n\t.param .u64 fd_merge_online_param_41,\n\t.param .u64 fd_merge_online_param_42,\n\t.param .u64 fd_merge_online_param_43\n)\n{\n\tret;\n}\n"
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

std::string fdtest::withVariants(const std::string &init,
                                 const std::string &counter,
                                 const std::string &secondName) {
  // The bundle reader holds variant names to the entry's softmax: the
  // unified-max pair (two_kernel first) on a unified_max entry, with the
  // counter buffer only those have; else split first, online softmax.
  bool unified = fdb::variant::isUnifiedMax(secondName);
  std::string v = fdtest::validManifest();
  if (unified)
    v = REPLACE(v, R"("softmax": { "kind": "online" })",
                R"("softmax": { "kind": "unified_max", "phi": 0.5, )"
                R"("threshold": 20 })");
  size_t begin = v.find("\"workspace\": [");
  size_t end = v.rfind("]\n    }\n  ]");
  std::string launch = v.substr(begin, end + 1 - begin);
  std::string extended = launch;
  std::string last =
      R"({ "name": "partial_sum", "elem": "f32", "shape": ["B", "Hq", "S"] })";
  size_t at = extended.find(last);
  if (unified)
    extended.insert(
        at + last.size(),
        R"(, { "name": "fallback_count", "elem": "i32", "shape": [1] })");
  std::string second =
      "{\"name\": \"" + secondName + "\", \"workspace_init\": \"" + init +
      "\"" +
      (counter.empty() ? "" : ", \"fallback_counter\": \"" + counter + "\"") +
      ", " + extended + "}";
  std::string first = unified ? "two_kernel" : "split";
  std::string variants = ", \"variants\": [{\"name\": \"" + first + "\", " +
                         launch + "}, " + second + "]";
  std::string text = v;
  text.insert(end + 1, variants);
  return text;
}
