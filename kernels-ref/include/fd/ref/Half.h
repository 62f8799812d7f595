//===- Half.h - Host f16/bf16 <-> float conversions -------------*- C++ -*-===//
//
// Bit-exact host conversions for the two 16-bit element types of fd's kernels.
// They are written out (no compiler __fp16/__bf16) so that the reference does
// not depend on host compiler support and rounds the same everywhere:
// float -> 16 bit is round-to-nearest-even, NaN stays NaN (quieted), overflow
// goes to infinity.
//
//===----------------------------------------------------------------------===//

#ifndef FD_REF_HALF_H
#define FD_REF_HALF_H

#include <cstdint>
#include <cstring>

namespace fd::ref {

/// Element type of 16-bit kernel inputs and outputs.
enum class DType { F16, BF16 };

/// "f16" or "bf16".
inline const char *dtypeName(DType dtype) {
  return dtype == DType::F16 ? "f16" : "bf16";
}

inline uint32_t floatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float bitsToFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

/// IEEE binary16 bits -> float (exact).
inline float halfToFloat(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t mant = h & 0x3ffu;
  if (exp == 0x1f) // Inf / NaN: keep the payload.
    return bitsToFloat(sign | 0x7f800000u | (mant << 13));
  if (exp == 0) { // Zero or subnormal: mant * 2^-24, exact in float.
    const float mag = float(mant) * (1.0f / 16777216.0f);
    return sign ? -mag : mag;
  }
  return bitsToFloat(sign | ((exp + 112) << 23) | (mant << 13));
}

/// float -> IEEE binary16 bits, round-to-nearest-even.
inline uint16_t floatToHalf(float f) {
  const uint32_t x = floatBits(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  const uint32_t mag = x & 0x7fffffffu;
  if (mag > 0x7f800000u) // NaN: quiet it, keep the top payload bits.
    return uint16_t(sign | 0x7e00u | ((mag >> 13) & 0x3ffu));
  if (mag >= 0x477ff000u) // >= 65520 (the tie above 65504) or Inf.
    return uint16_t(sign | 0x7c00u);
  if (mag >= 0x38800000u) { // Normal half: drop 13 mantissa bits, RNE.
    uint32_t h = ((mag >> 23) - 112) << 10 | ((mag >> 13) & 0x3ffu);
    const uint32_t rem = mag & 0x1fffu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
      ++h; // A carry into the exponent is the correct result.
    return uint16_t(sign | h);
  }
  // Subnormal half: value / 2^-24 = m * 2^(E - 126) with the implicit bit.
  const uint32_t e = mag >> 23;
  if (e == 0)
    return sign; // Float subnormals are far below half's 2^-25 midpoint.
  const uint32_t m = (mag & 0x7fffffu) | 0x800000u;
  const uint32_t shift = 126 - e; // >= 14 here.
  if (shift >= 25)
    return sign; // < 2^-25 rounds to zero; exactly 2^-25 ties to even (0).
  uint32_t h = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rem > halfway || (rem == halfway && (h & 1u)))
    ++h; // Rounding up to 0x400 yields the smallest normal, as it should.
  return uint16_t(sign | h);
}

/// bfloat16 bits -> float (exact).
inline float bf16ToFloat(uint16_t b) { return bitsToFloat(uint32_t(b) << 16); }

/// float -> bfloat16 bits, round-to-nearest-even.
inline uint16_t floatToBf16(float f) {
  const uint32_t x = floatBits(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) // NaN: the rounding add could make Inf.
    return uint16_t((x >> 16) | 0x0040u);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

/// Decodes one element of type `dtype`.
inline float toFloat(DType dtype, uint16_t bits) {
  return dtype == DType::F16 ? halfToFloat(bits) : bf16ToFloat(bits);
}

/// Encodes one element of type `dtype` (round-to-nearest-even).
inline uint16_t fromFloat(DType dtype, float f) {
  return dtype == DType::F16 ? floatToHalf(f) : floatToBf16(f);
}

} // namespace fd::ref

#endif // FD_REF_HALF_H
