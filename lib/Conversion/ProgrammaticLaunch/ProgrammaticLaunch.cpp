//===- ProgrammaticLaunch.cpp - griddepcontrol in fd kernels --------------===//
//
// Every fd kernel starts with griddepcontrol.wait and then
// griddepcontrol.launch_dependents (Passes.td says why in that order).
// Triggering at the start costs nothing: the next grid launches only once
// every CTA of this one has issued the trigger, i.e. once the last CTA is
// resident, so the CTAs it parks at griddepcontrol.wait never take a slot
// this grid still needs.
//
//===----------------------------------------------------------------------===//
#include "fd/Conversion/ProgrammaticLaunch/ProgrammaticLaunch.h"
#include "fd/Bundle/Schema.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"

namespace mlir::fd {
#define GEN_PASS_DEF_FDPROGRAMMATICLAUNCH
#include "fd/Conversion/Passes.h.inc"
} // namespace mlir::fd

using namespace mlir;

bool mlir::fd::chipHasGridDependencyControl(StringRef chip) {
  unsigned version = 0;
  if (!chip.consume_front("sm_"))
    return false;
  StringRef digits = chip.take_while(llvm::isDigit);
  return !digits.getAsInteger(10, version) && version >= 90;
}

namespace {
struct ProgrammaticLaunchPass
    : mlir::fd::impl::FDProgrammaticLaunchBase<ProgrammaticLaunchPass> {
  void runOnOperation() override {
    // A module already targeting an older chip would reach the NVPTX
    // backend with an instruction it cannot select: refuse it here.
    WalkResult targets = getOperation().walk([](gpu::GPUModuleOp module) {
      for (Attribute target : module.getTargetsAttr()
                                  ? module.getTargetsAttr().getValue()
                                  : ArrayRef<Attribute>())
        if (auto nvvm = dyn_cast<NVVM::NVVMTargetAttr>(target);
            nvvm && !fd::chipHasGridDependencyControl(nvvm.getChip())) {
          module.emitError() << "fd-programmatic-launch: griddepcontrol needs "
                                "sm_90 or later, but the module targets "
                             << nvvm.getChip();
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (targets.wasInterrupted())
      return signalPassFailure();
    getOperation().walk([](gpu::GPUFuncOp fn) {
      if (!fn.isKernel() || fn->hasAttr(::fdb::ir::kPdl) ||
          fn.getBody().empty())
        return;
      OpBuilder b = OpBuilder::atBlockBegin(&fn.getBody().front());
      NVVM::GriddepcontrolOp::create(b, fn.getLoc(),
                                     NVVM::GridDepActionKind::wait);
      NVVM::GriddepcontrolOp::create(
          b, fn.getLoc(), NVVM::GridDepActionKind::launch_dependents);
      fn->setAttr(::fdb::ir::kPdl, b.getUnitAttr());
    });
  }
};
} // namespace
