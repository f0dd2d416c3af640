// The runtime contract suite's target in the guest: every edu device of the
// VM, through edu.ko (whatever EDU_VISIBLE_DEVICES says).
#include <memory>

#include "contract_target.hpp"

namespace educontract {
namespace {

class DriverTarget final : public Target {
 public:
  edu::Runtime& runtime() override { return runtime_; }
  [[nodiscard]] std::string name() const override { return "edu.ko"; }
  [[nodiscard]] std::chrono::milliseconds stress_budget() const override {
    return std::chrono::milliseconds{4000};
  }

 private:
  edu::Runtime runtime_{edu::DiscoveryOptions{}};
};

}  // namespace

std::unique_ptr<Target> make_target() {
  return std::make_unique<DriverTarget>();
}

}  // namespace educontract
