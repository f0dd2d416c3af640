// The runtime contract suite's target on the host: two emulated devices
// (fake_edu.hpp) behind a fake sysfs tree.
#include <memory>
#include <vector>

#include "contract_target.hpp"
#include "fake_edu.hpp"
#include "fake_sysfs.hpp"

namespace educontract {
namespace {

class FakeTarget final : public Target {
 public:
  FakeTarget() {
    for (unsigned i = 0; i < 2; ++i) {
      sysfs_.add_device(i);
      fakes_.push_back(
          std::make_unique<edutest::FakeEdu>(sysfs_.dev() / ("edu" + std::to_string(i)), i));
    }
    edu::DiscoveryOptions o;
    o.sysfs_root = sysfs_.sys();
    o.dev_root = sysfs_.dev();
    runtime_ = std::make_unique<edu::Runtime>(o);
  }

  edu::Runtime& runtime() override { return *runtime_; }
  [[nodiscard]] std::string name() const override { return "fake"; }
  [[nodiscard]] std::chrono::milliseconds stress_budget() const override {
    return std::chrono::milliseconds{1000};
  }

 private:
  edutest::FakeSysfs sysfs_;
  std::vector<std::unique_ptr<edutest::FakeEdu>> fakes_;
  std::unique_ptr<edu::Runtime> runtime_;  // last: closes its files before the fakes go
};

}  // namespace

std::unique_ptr<Target> make_target() {
  return std::make_unique<FakeTarget>();
}

}  // namespace educontract
