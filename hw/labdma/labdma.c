/*
 * labdma: the lab's PCIe DMA engine (docs/labdma/datasheet.md)
 *
 * Two sibling types share this model: "labdma" (1af4:10f0, up to 8
 * channels, MSI-X, compute operations) and "labdma-lite" (1af4:10f1, one
 * channel, MSI only, copy/fill).  This file implements the PCI identity,
 * capabilities, the global register block, interrupt delivery (INTx, MSI,
 * MSI-X) with the datasheet's masking rules, the test interrupt, the
 * timestamp, soft reset, FLR and system reset, AER and migration.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/pci/pcie_aer.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qom/object.h"
#include "trace.h"

#define TYPE_LABDMA_BASE        "labdma-base"
#define TYPE_LABDMA             "labdma"
#define TYPE_LABDMA_LITE        "labdma-lite"

#define LABDMA_VENDOR_ID        0x1af4
#define LABDMA_DEVICE_ID        0x10f0
#define LABDMA_LITE_DEVICE_ID   0x10f1
#define LABDMA_SUBSYS_ID        0x1100
#define LABDMA_REVISION         0x01

#define LABDMA_BAR_REGS         0
#define LABDMA_BAR_MSIX         2
#define LABDMA_REGS_SIZE        (16 * KiB)
#define LABDMA_MAX_CHANNELS     8

/* configuration space layout */
#define LABDMA_PM_OFFSET        0x40
#define LABDMA_MSI_OFFSET       0x50
#define LABDMA_EXP_OFFSET       0x60
#define LABDMA_AER_OFFSET       0x100

/* global registers */
#define REG_ID                  0x000
#define REG_VERSION             0x004
#define REG_CAP                 0x008
#define REG_MAX_XFER            0x00c
#define REG_CTRL                0x010
#define REG_STATUS              0x014
#define REG_SCRATCH             0x018
#define REG_INT_STATUS          0x020
#define REG_INT_MASK            0x024
#define REG_INT_MASK_SET        0x028
#define REG_INT_MASK_CLEAR      0x02c
#define REG_INT_TEST            0x030
#define REG_TIMESTAMP_LO        0x038
#define REG_TIMESTAMP_HI        0x03c

#define LABDMA_ID               0x4c444d41u
#define LABDMA_VERSION          0x00010000u

#define CAP_CHANNELS_MASK       0xfu
#define CAP_OPS_SHIFT           8
#define CAP_MSIX                (1u << 16)
#define CAP_RING_LOG2_SHIFT     20
#define LABDMA_RING_LOG2        12

#define CTRL_ENABLE             (1u << 0)
#define CTRL_RESET              (1u << 1)
#define STATUS_ENABLED          (1u << 0)

#define INT_CHANNELS            0x000000ffu
#define INT_ERROR               (1u << 16)
#define INT_TEST                0xff000000u
#define INT_ALL                 (INT_CHANNELS | INT_ERROR | INT_TEST)

/* operation codes (datasheet 6.2) */
enum {
    LABDMA_OP_NOP = 0,
    LABDMA_OP_COPY,
    LABDMA_OP_FILL,
    LABDMA_OP_MUL2,
    LABDMA_OP_MUL4,
    LABDMA_OP_CRC32C,
};

typedef struct LabDmaVariant {
    const char *name;
    uint16_t device_id;
    uint8_t max_channels;
    uint8_t default_channels;
    uint8_t ops;            /* bit n: operation code n */
    bool msix;
    uint32_t max_xfer;
} LabDmaVariant;

static const LabDmaVariant labdma_full = {
    .name = TYPE_LABDMA,
    .device_id = LABDMA_DEVICE_ID,
    .max_channels = LABDMA_MAX_CHANNELS,
    .default_channels = 4,
    .ops = BIT(LABDMA_OP_NOP) | BIT(LABDMA_OP_COPY) | BIT(LABDMA_OP_FILL) |
           BIT(LABDMA_OP_MUL2) | BIT(LABDMA_OP_MUL4) | BIT(LABDMA_OP_CRC32C),
    .msix = true,
    .max_xfer = 1 * MiB,
};

static const LabDmaVariant labdma_lite = {
    .name = TYPE_LABDMA_LITE,
    .device_id = LABDMA_LITE_DEVICE_ID,
    .max_channels = 1,
    .default_channels = 1,
    .ops = BIT(LABDMA_OP_NOP) | BIT(LABDMA_OP_COPY) | BIT(LABDMA_OP_FILL),
    .msix = false,
    .max_xfer = 64 * KiB,
};

OBJECT_DECLARE_TYPE(LabDmaState, LabDmaClass, LABDMA_BASE)

struct LabDmaClass {
    PCIDeviceClass parent_class;
    const LabDmaVariant *variant;
};

struct LabDmaState {
    PCIDevice parent_obj;

    MemoryRegion regs;
    uint8_t channels;           /* property */

    uint32_t ctrl;
    uint32_t scratch;
    uint32_t int_status;
    uint32_t int_mask;
    uint32_t timestamp_hi;      /* latched by a TIMESTAMP_LO read */
};

static const LabDmaVariant *labdma_variant(LabDmaState *s)
{
    return LABDMA_BASE_GET_CLASS(s)->variant;
}

static unsigned labdma_msix_vectors(LabDmaState *s)
{
    return s->channels + 1;
}

/* Sources an MSI-X vector carries: 0 errors and tests, 1 + c channel c. */
static uint32_t labdma_vector_sources(LabDmaState *s, unsigned vector)
{
    if (vector == 0) {
        return INT_ERROR | INT_TEST;
    }
    return vector <= s->channels ? 1u << (vector - 1) : 0;
}

static uint32_t labdma_pending(LabDmaState *s)
{
    return s->int_status & ~s->int_mask;
}

/*
 * Deliver interrupts after a change.  @fire: pending sources that must
 * signal now (newly pending, or still pending after a write-1-to-clear).
 * INTx is a level: it follows "anything pending" whatever @fire says.
 */
static void labdma_update_irq(LabDmaState *s, uint32_t fire)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t pending = labdma_pending(s);
    unsigned v;

    fire &= pending;
    if (msix_enabled(pdev)) {
        pci_set_irq(pdev, 0);
        for (v = 0; v < labdma_msix_vectors(s); v++) {
            if (fire & labdma_vector_sources(s, v)) {
                trace_labdma_irq_msix(v, pending);
                msix_notify(pdev, v);
            }
        }
    } else if (msi_enabled(pdev)) {
        pci_set_irq(pdev, 0);
        if (fire) {
            trace_labdma_irq_msi(pending);
            msi_notify(pdev, 0);
        }
    } else {
        trace_labdma_irq_intx(pending != 0);
        pci_set_irq(pdev, pending != 0);
    }
}

/* Set sources in INT_STATUS; those that become pending fire. */
static void labdma_raise(LabDmaState *s, uint32_t bits)
{
    uint32_t before = labdma_pending(s);

    s->int_status |= bits & INT_ALL;
    labdma_update_irq(s, labdma_pending(s) & ~before);
}

/* Soft reset and every stronger reset (datasheet 7). */
static void labdma_soft_reset(LabDmaState *s)
{
    s->ctrl = 0;
    s->scratch = 0;
    s->int_status = 0;
    s->int_mask = ~0u;
    s->timestamp_hi = 0;
    labdma_update_irq(s, 0);
}

static uint32_t labdma_cap(LabDmaState *s)
{
    const LabDmaVariant *var = labdma_variant(s);

    return (s->channels & CAP_CHANNELS_MASK) |
           (uint32_t)var->ops << CAP_OPS_SHIFT |
           (var->msix ? CAP_MSIX : 0) |
           LABDMA_RING_LOG2 << CAP_RING_LOG2_SHIFT;
}

static uint64_t labdma_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    LabDmaState *s = opaque;
    uint64_t now;
    uint32_t val = 0;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "labdma: %u-byte read at 0x%" HWADDR_PRIx
                      ": registers are 32-bit and aligned\n", size, addr);
        trace_labdma_bad_access("read", size, addr);
        return UINT32_MAX;
    }

    switch (addr) {
    case REG_ID:
        val = LABDMA_ID;
        break;
    case REG_VERSION:
        val = LABDMA_VERSION;
        break;
    case REG_CAP:
        val = labdma_cap(s);
        break;
    case REG_MAX_XFER:
        val = labdma_variant(s)->max_xfer;
        break;
    case REG_CTRL:
        val = s->ctrl;
        break;
    case REG_STATUS:
        val = (s->ctrl & CTRL_ENABLE) ? STATUS_ENABLED : 0;
        break;
    case REG_SCRATCH:
        val = s->scratch;
        break;
    case REG_INT_STATUS:
        val = s->int_status;
        break;
    case REG_INT_MASK:
        val = s->int_mask;
        break;
    case REG_TIMESTAMP_LO:
        now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
        s->timestamp_hi = now >> 32;
        val = (uint32_t)now;
        break;
    case REG_TIMESTAMP_HI:
        val = s->timestamp_hi;
        break;
    default:
        break;
    }
    trace_labdma_mmio_read(addr, val);
    return val;
}

static void labdma_mmio_write(void *opaque, hwaddr addr, uint64_t data,
                              unsigned size)
{
    LabDmaState *s = opaque;
    uint32_t val = data;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "labdma: %u-byte write at 0x%" HWADDR_PRIx
                      ": registers are 32-bit and aligned\n", size, addr);
        trace_labdma_bad_access("write", size, addr);
        return;
    }
    trace_labdma_mmio_write(addr, val);

    switch (addr) {
    case REG_CTRL:
        if (val & CTRL_RESET) {
            trace_labdma_reset("soft");
            labdma_soft_reset(s);
            break;
        }
        s->ctrl = val & CTRL_ENABLE;
        break;
    case REG_SCRATCH:
        s->scratch = val;
        break;
    case REG_INT_STATUS:
        /* what is still pending after the clear signals again */
        s->int_status &= ~val;
        labdma_update_irq(s, labdma_pending(s));
        break;
    case REG_INT_MASK_SET:
        s->int_mask |= val;
        labdma_update_irq(s, 0);
        break;
    case REG_INT_MASK_CLEAR: {
        uint32_t before = labdma_pending(s);

        s->int_mask &= ~val;
        labdma_update_irq(s, labdma_pending(s) & ~before);
        break;
    }
    case REG_INT_TEST:
        labdma_raise(s, val & INT_TEST);
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "labdma: write 0x%08x to read-only or unknown register 0x%"
                      HWADDR_PRIx "\n", val, addr);
        break;
    }
}

static const MemoryRegionOps labdma_mmio_ops = {
    .read = labdma_mmio_read,
    .write = labdma_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    /* every size reaches the handlers, which refuse all but 4 */
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
};

static void labdma_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                int len)
{
    LabDmaState *s = LABDMA_BASE(pdev);

    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
    /* switching between INTx, MSI and MSI-X moves what is pending */
    labdma_update_irq(s, labdma_pending(s));
}

static void labdma_add_pm_capability(PCIDevice *pdev, Error **errp)
{
    if (pci_add_capability(pdev, PCI_CAP_ID_PM, LABDMA_PM_OFFSET,
                           PCI_PM_SIZEOF, errp) < 0) {
        return;
    }
    pci_set_word(pdev->config + LABDMA_PM_OFFSET + PCI_PM_PMC,
                 PCI_PM_CAP_VER_1_2);
    pci_set_word(pdev->config + LABDMA_PM_OFFSET + PCI_PM_CTRL,
                 PCI_PM_CTRL_NO_SOFT_RESET);
    pci_set_word(pdev->wmask + LABDMA_PM_OFFSET + PCI_PM_CTRL,
                 PCI_PM_CTRL_STATE_MASK);
}

static void labdma_realize(PCIDevice *pdev, Error **errp)
{
    ERRP_GUARD();
    LabDmaState *s = LABDMA_BASE(pdev);
    const LabDmaVariant *var = labdma_variant(s);
    unsigned v;

    if (s->channels < 1 || s->channels > var->max_channels) {
        error_setg(errp, "%s: channels must be 1..%u, not %u", var->name,
                   var->max_channels, s->channels);
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);
    memory_region_init_io(&s->regs, OBJECT(s), &labdma_mmio_ops, s,
                          "labdma-regs", LABDMA_REGS_SIZE);
    pci_register_bar(pdev, LABDMA_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY |
                     PCI_BASE_ADDRESS_MEM_TYPE_64, &s->regs);

    labdma_add_pm_capability(pdev, errp);
    if (*errp) {
        return;
    }
    if (msi_init(pdev, LABDMA_MSI_OFFSET, 1, true, false, errp)) {
        return;
    }
    if (pcie_endpoint_cap_init(pdev, LABDMA_EXP_OFFSET) < 0) {
        error_setg(errp, "%s: cannot add the PCI Express capability",
                   var->name);
        goto err_msi;
    }
    pcie_cap_flr_init(pdev);
    if (pcie_aer_init(pdev, PCI_ERR_VER, LABDMA_AER_OFFSET, PCI_ERR_SIZEOF,
                      errp) < 0) {
        goto err_pcie;
    }
    if (var->msix) {
        if (msix_init_exclusive_bar(pdev, labdma_msix_vectors(s),
                                    LABDMA_BAR_MSIX, errp)) {
            goto err_aer;
        }
        for (v = 0; v < labdma_msix_vectors(s); v++) {
            msix_vector_use(pdev, v);
        }
    }
    labdma_soft_reset(s);
    return;

err_aer:
    pcie_aer_exit(pdev);
err_pcie:
    pcie_cap_exit(pdev);
err_msi:
    msi_uninit(pdev);
}

static void labdma_exit(PCIDevice *pdev)
{
    LabDmaState *s = LABDMA_BASE(pdev);

    if (labdma_variant(s)->msix) {
        msix_unuse_all_vectors(pdev);
        msix_uninit_exclusive_bar(pdev);
    }
    pcie_aer_exit(pdev);
    pcie_cap_exit(pdev);
    msi_uninit(pdev);
}

/* System reset and FLR (pcie_cap_flr_write_config -> pci_device_reset). */
static void labdma_qdev_reset(DeviceState *dev)
{
    LabDmaState *s = LABDMA_BASE(dev);

    trace_labdma_reset("device");
    labdma_soft_reset(s);
}

static void labdma_instance_init(Object *obj)
{
    LabDmaState *s = LABDMA_BASE(obj);

    s->channels = LABDMA_BASE_GET_CLASS(obj)->variant->default_channels;
}

static const VMStateDescription labdma_vmstate = {
    .name = "labdma",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, LabDmaState),
        VMSTATE_MSIX(parent_obj, LabDmaState),
        VMSTATE_STRUCT(parent_obj.exp.aer_log, LabDmaState, 0,
                       vmstate_pcie_aer_log, PCIEAERLog),
        VMSTATE_UINT8(channels, LabDmaState),
        VMSTATE_UINT32(ctrl, LabDmaState),
        VMSTATE_UINT32(scratch, LabDmaState),
        VMSTATE_UINT32(int_status, LabDmaState),
        VMSTATE_UINT32(int_mask, LabDmaState),
        VMSTATE_UINT32(timestamp_hi, LabDmaState),
        VMSTATE_END_OF_LIST()
    },
};

static Property labdma_properties[] = {
    DEFINE_PROP_UINT8("channels", LabDmaState, channels, 4),
    DEFINE_PROP_END_OF_LIST(),
};

static void labdma_base_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);

    pc->realize = labdma_realize;
    pc->exit = labdma_exit;
    pc->config_write = labdma_write_config;
    pc->vendor_id = LABDMA_VENDOR_ID;
    pc->subsystem_vendor_id = LABDMA_VENDOR_ID;
    pc->subsystem_id = LABDMA_SUBSYS_ID;
    pc->revision = LABDMA_REVISION;
    pc->class_id = PCI_CLASS_SYSTEM_OTHER;
    dc->reset = labdma_qdev_reset;
    dc->vmsd = &labdma_vmstate;
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static void labdma_variant_class_init(ObjectClass *oc, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *pc = PCI_DEVICE_CLASS(oc);
    LabDmaClass *lc = LABDMA_BASE_CLASS(oc);
    const LabDmaVariant *var = data;

    lc->variant = var;
    pc->device_id = var->device_id;
    dc->desc = var->msix ? "lab PCIe DMA engine (docs/labdma/datasheet.md)"
                         : "lab PCIe DMA engine, lite variant";
    if (var->max_channels > 1) {
        device_class_set_props(dc, labdma_properties);
    }
}

static const TypeInfo labdma_types[] = {
    {
        .name = TYPE_LABDMA_BASE,
        .parent = TYPE_PCI_DEVICE,
        .abstract = true,
        .instance_size = sizeof(LabDmaState),
        .instance_init = labdma_instance_init,
        .class_size = sizeof(LabDmaClass),
        .class_init = labdma_base_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_PCIE_DEVICE },
            { },
        },
    },
    {
        .name = TYPE_LABDMA,
        .parent = TYPE_LABDMA_BASE,
        .class_init = labdma_variant_class_init,
        .class_data = (void *)&labdma_full,
    },
    {
        .name = TYPE_LABDMA_LITE,
        .parent = TYPE_LABDMA_BASE,
        .class_init = labdma_variant_class_init,
        .class_data = (void *)&labdma_lite,
    },
};

DEFINE_TYPES(labdma_types)
