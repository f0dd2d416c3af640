# The lab's qemu-system-x86_64: what the runner's scenarios use, nothing else
# (configure --without-default-devices: Kconfig defaults and "imply" are off,
# so what is not named here, or selected by what is, is not built).
# -M q35: ICH9 (ACPI PCI hotplug), PCIe host, ISA serial, fw_cfg DMA (-kernel)
CONFIG_Q35=y
# q35 always creates a vmport (vmport=auto means on): without it, -M q35 aborts
CONFIG_VMPORT=y
# the rest of the stock q35 board, so the guest sees the machine Debian's QEMU gives
CONFIG_VMMOUSE=y
CONFIG_HPET=y
# -device intel-iommu (--iommu)
CONFIG_VTD=y
# -device pcie-root-port: hotplug slots, AER (pcie_aer_inject_error)
CONFIG_PCIE_PORT=y
# -device virtio-serial-pci + virtserialport: the runner's channels
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_EDU=y
CONFIG_LABDMA=y
