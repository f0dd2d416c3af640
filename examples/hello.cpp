// The runtime API in one page: discovery, the default device, a factorial,
// a loopback copy of any size, and the same copy split across all devices.
#include <algorithm>
#include <cstdio>
#include <vector>

#include <edu/edu.hpp>

int main() {
  try {
    edu::Runtime& rt = edu::runtime();  // discovers devices (sysfs), honours EDU_VISIBLE_DEVICES
    std::printf("%zu visible edu device(s)\n", rt.device_count());
    for (const edu::DeviceInfo& d : rt.devices())
      std::printf("  edu%u at %s, DMA window %u bytes\n", d.index, d.pci_address.c_str(),
                  d.dma_window);

    const edu::Device& dev = edu::default_device();  // opened on first use
    std::printf("10! mod 2^32 = %u\n", dev.factorial(10));

    // 3 windows' worth of data through the device and back.
    std::vector<std::byte> src(std::size_t{3} * dev.dma_window());
    for (std::size_t i = 0; i < src.size(); ++i)
      src[i] = static_cast<std::byte>(i);  // 0, 1, ... 255, 0, 1, ...
    std::vector<std::byte> dst(src.size());
    const edu::CopyResult r = edu::copy_through(dev, src, dst);
    std::printf("copied %llu bytes via the %s path in %.2f s (%llu DMA transfers), %s\n",
                static_cast<unsigned long long>(r.bytes), edu::to_string(r.path),
                std::chrono::duration<double>(r.elapsed).count(),
                static_cast<unsigned long long>(r.dma_transfers),
                src == dst ? "data intact" : "DATA MISMATCH");

    if (rt.device_count() > 1) {
      std::fill(dst.begin(), dst.end(), std::byte{0});
      const edu::MultiCopyResult m = edu::copy_through_all(rt, src, dst);
      std::printf("split across %zu devices: %.2f s, %s\n", m.slices.size(),
                  std::chrono::duration<double>(m.elapsed).count(),
                  src == dst ? "data intact" : "DATA MISMATCH");
    }
    return src == dst ? 0 : 1;
  } catch (const edu::Error& e) {
    // e.g. "find an edu device: no edu device found — is the driver loaded? try `modprobe edu`"
    std::fprintf(stderr, "edu-example-hello: %s\n", e.what());
    return 1;
  }
}
