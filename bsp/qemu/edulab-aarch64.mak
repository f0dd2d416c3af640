# The lab's qemu-system-aarch64 (see edulab-x86_64.mak).
# -M virt: GICv2/v2m, pl011, pl031, gpex PCIe host, fw_cfg, ACPI, SMMUv3
CONFIG_ARM_VIRT=y
# GICv3 and its ITS under TCG (virt,gic-version=3); a default, so off here
CONFIG_ARM_GICV3_TCG=y
# needed to link with TCG: target/arm calls the M-profile NVIC and semihosting
CONFIG_ARM_V7M=y
CONFIG_PCIE_PORT=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_EDU=y
CONFIG_LABDMA=y
