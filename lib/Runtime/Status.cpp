//===- Status.cpp - Error values of the fd runtime ------------------------===//

#include "fd/Runtime/Status.h"

using namespace fd::rt;

const char *fd::rt::errorCodeName(ErrorCode code) {
  switch (code) {
  case ErrorCode::Ok:
    return "ok";
  case ErrorCode::InvalidArgument:
    return "invalid argument";
  case ErrorCode::Io:
    return "i/o error";
  case ErrorCode::Parse:
    return "parse error";
  case ErrorCode::InvalidBundle:
    return "invalid bundle";
  case ErrorCode::Unsupported:
    return "unsupported";
  case ErrorCode::NoDevice:
    return "no device";
  case ErrorCode::Driver:
    return "driver error";
  case ErrorCode::Internal:
    return "internal error";
  }
  return "unknown error";
}
