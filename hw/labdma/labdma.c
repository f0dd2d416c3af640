/*
 * labdma: the lab's PCIe DMA engine (docs/labdma/datasheet.md), the PCI
 * function: identity, BARs and capabilities, the global registers and the
 * dispatch of channel registers to labdma-channel.c, interrupt delivery
 * (INTx, MSI, MSI-X) with the datasheet's masking rules, resets of every
 * kind, SR-IOV, migration and the QOM types.
 *
 * Two sibling types share this model: "labdma" (1af4:10f0, up to 8
 * channels, MSI-X, compute operations, SR-IOV) and "labdma-lite"
 * (1af4:10f1, one channel, MSI only, copy/fill).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/error-report.h"
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
#include "hw/pci/pcie_sriov.h"
#include "hw/qdev-properties.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "qom/object.h"
#include "labdma.h"
#include "trace.h"

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

const LabDmaVariant *labdma_variant(LabDmaState *s)
{
    return LABDMA_BASE_GET_CLASS(s)->variant;
}

unsigned labdma_msix_vectors(LabDmaState *s)
{
    return s->channels + 1;
}

/* Sources an MSI-X vector carries: 0 errors and tests, else its channels. */
static uint32_t labdma_vector_sources(LabDmaState *s, unsigned vector)
{
    uint32_t sources = vector == 0 ? INT_ERROR | INT_TEST : 0;
    unsigned c;

    for (c = 0; c < s->channels; c++) {
        if (s->ch[c].vector == vector) {
            sources |= 1u << c;
        }
    }
    return sources;
}

static uint32_t labdma_pending(LabDmaState *s)
{
    return s->int_status & ~s->int_mask;
}

static void labdma_lower_intx(PCIDevice *pdev)
{
    if (pci_get_byte(pdev->config + PCI_INTERRUPT_PIN)) {
        pci_set_irq(pdev, 0);
    }
}

/*
 * Deliver interrupts after a change.  @fire: pending sources that must
 * signal now (newly pending, or still pending after a write-1-to-clear).
 * INTx is a level: it follows "anything pending" whatever @fire says.
 */
void labdma_update_irq(LabDmaState *s, uint32_t fire)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    uint32_t pending = labdma_pending(s);
    unsigned v;

    fire &= pending;
    if (msix_enabled(pdev)) {
        labdma_lower_intx(pdev);
        for (v = 0; v < labdma_msix_vectors(s); v++) {
            if (fire & labdma_vector_sources(s, v)) {
                trace_labdma_irq_msix(v, pending);
                msix_notify(pdev, v);
            }
        }
    } else if (msi_enabled(pdev)) {
        labdma_lower_intx(pdev);
        if (fire) {
            trace_labdma_irq_msi(pending);
            msi_notify(pdev, 0);
        }
    } else if (pci_get_byte(pdev->config + PCI_INTERRUPT_PIN)) {
        bool level = pending != 0 || s->spurious_intx;

        trace_labdma_irq_intx(level);
        pci_set_irq(pdev, level);
    }
    /* a VF has neither INTx nor MSI: with MSI-X off it signals nothing */
}

/* Set sources in INT_STATUS; those that become pending fire. */
void labdma_raise(LabDmaState *s, uint32_t bits)
{
    uint32_t before = labdma_pending(s);

    s->int_status |= bits & INT_ALL;
    labdma_update_irq(s, labdma_pending(s) & ~before);
}

static bool labdma_any_halted_with_error(LabDmaState *s)
{
    unsigned c;

    for (c = 0; c < s->channels; c++) {
        if (s->ch[c].state == LABDMA_CH_HALTED) {
            return true;
        }
    }
    return false;
}

/* ---- device ------------------------------------------------------------ */

/* Soft reset and every stronger reset (datasheet 7). */
static void labdma_soft_reset(LabDmaState *s)
{
    unsigned c;

    for (c = 0; c < LABDMA_MAX_CHANNELS; c++) {
        labdma_ch_reset_all(&s->ch[c]);
    }
    s->ctrl = 0;
    s->scratch = 0;
    s->int_status = 0;
    s->int_mask = ~0u;
    s->timestamp_hi = 0;
    s->link_free_at = 0;
    s->spurious_intx = false;
    if (msix_present(PCI_DEVICE(s))) {
        /* messages held back by a masked vector are for the old state */
        for (c = 0; c < labdma_msix_vectors(s); c++) {
            msix_clr_pending(PCI_DEVICE(s), c);
        }
    }
    labdma_update_irq(s, 0);
}

static uint32_t labdma_cap(LabDmaState *s)
{
    const LabDmaVariant *var = labdma_variant(s);

    return (s->channels & CAP_CHANNELS_MASK) |
           (uint32_t)var->ops << CAP_OPS_SHIFT |
           (var->msix ? CAP_MSIX : 0) | CAP_FAULT |
           LABDMA_RING_LOG2 << CAP_RING_LOG2_SHIFT;
}

static LabDmaChannel *labdma_channel_at(LabDmaState *s, hwaddr addr)
{
    hwaddr c = (addr - LABDMA_CH_BASE) / LABDMA_CH_STRIDE;

    if (addr < LABDMA_CH_BASE || c >= s->channels) {
        return NULL;
    }
    return &s->ch[c];
}

static uint64_t labdma_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    LabDmaState *s = opaque;
    LabDmaChannel *ch;
    uint64_t now;
    uint32_t val = 0;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "labdma: %u-byte read at 0x%" HWADDR_PRIx
                      ": registers are 32-bit and aligned\n", size, addr);
        trace_labdma_bad_access("read", size, addr);
        return UINT32_MAX;
    }

    ch = labdma_channel_at(s, addr);
    if (ch) {
        val = labdma_ch_read(ch, addr % LABDMA_CH_STRIDE);
        trace_labdma_mmio_read(addr, val);
        return val;
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
        val |= labdma_any_halted_with_error(s) ? STATUS_ERROR : 0;
        break;
    case REG_SCRATCH:
        val = s->scratch;
        break;
    case REG_INT_STATUS:
        val = s->int_status;
        if (s->spurious_intx) {
            s->spurious_intx = false;
            labdma_update_irq(s, 0);
        }
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

static void labdma_write_global_ctrl(LabDmaState *s, uint32_t val)
{
    unsigned c;

    if (val & CTRL_RESET) {
        trace_labdma_reset("soft");
        labdma_soft_reset(s);
        return;
    }
    s->ctrl = val & CTRL_ENABLE;
    for (c = 0; c < s->channels; c++) {
        if (s->ctrl & CTRL_ENABLE) {
            labdma_ch_kick(&s->ch[c]);
        } else {
            /*
             * paused: BUSY channels keep their work for the next ENABLE;
             * the bottom half only signals a coalescing timeout now
             */
            labdma_ch_discard(&s->ch[c]);
        }
    }
}

static void labdma_mmio_write(void *opaque, hwaddr addr, uint64_t data,
                              unsigned size)
{
    LabDmaState *s = opaque;
    LabDmaChannel *ch;
    uint32_t val = data;

    if (size != 4 || (addr & 3)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "labdma: %u-byte write at 0x%" HWADDR_PRIx
                      ": registers are 32-bit and aligned\n", size, addr);
        trace_labdma_bad_access("write", size, addr);
        return;
    }
    trace_labdma_mmio_write(addr, val);

    ch = labdma_channel_at(s, addr);
    if (ch) {
        labdma_ch_write(ch, addr % LABDMA_CH_STRIDE, val);
        return;
    }

    switch (addr) {
    case REG_CTRL:
        labdma_write_global_ctrl(s, val);
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

/* ---- PCI --------------------------------------------------------------- */

static void labdma_write_config(PCIDevice *pdev, uint32_t addr, uint32_t val,
                                int len)
{
    LabDmaState *s = LABDMA_BASE(pdev);
    bool msi = msi_enabled(pdev), msix = msix_enabled(pdev);

    pci_default_write_config(pdev, addr, val, len);
    pcie_cap_flr_write_config(pdev, addr, val, len);
    if (msi != msi_enabled(pdev) || msix != msix_enabled(pdev)) {
        /* switching between INTx, MSI and MSI-X moves what is pending */
        labdma_update_irq(s, labdma_pending(s));
    } else {
        /* INTx follows the command register's interrupt disable */
        labdma_update_irq(s, 0);
    }
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
    bool vf = pci_is_vf(pdev);
    unsigned v;

    if (vf) {
        /* a virtual function is one channel of its PF's kind */
        s->channels = 1;
        s->sriov_vfs = 0;
    }
    if (s->sriov_vfs > LABDMA_MAX_VFS) {
        error_setg(errp, "%s: sriov-vfs must be 0..%u, not %u", var->name,
                   LABDMA_MAX_VFS, s->sriov_vfs);
        return;
    }
    if (s->channels < 1 || s->channels > var->max_channels) {
        error_setg(errp, "%s: channels must be 1..%u, not %u", var->name,
                   var->max_channels, s->channels);
        return;
    }
    if (s->dma_mask < 0xffffff || (s->dma_mask & (s->dma_mask + 1))) {
        error_setg(errp, "%s: dma-mask must be 2^n - 1 with n >= 24, not 0x%"
                   PRIx64, var->name, s->dma_mask);
        return;
    }

    memory_region_init_io(&s->regs, OBJECT(s), &labdma_mmio_ops, s,
                          "labdma-regs", LABDMA_REGS_SIZE);
    if (vf) {
        memory_region_init(&s->vf_bar, OBJECT(s), "labdma-vf-bar0",
                           LABDMA_VF_BAR_SIZE);
        memory_region_add_subregion(&s->vf_bar, 0, &s->regs);
        pcie_sriov_vf_register_bar(pdev, LABDMA_BAR_REGS, &s->vf_bar);
    } else {
        pci_config_set_interrupt_pin(pdev->config, 1);
        pci_register_bar(pdev, LABDMA_BAR_REGS, PCI_BASE_ADDRESS_SPACE_MEMORY |
                         PCI_BASE_ADDRESS_MEM_TYPE_64, &s->regs);
    }

    labdma_add_pm_capability(pdev, errp);
    if (*errp) {
        return;
    }
    if (!vf && msi_init(pdev, LABDMA_MSI_OFFSET, 1, true, false, errp)) {
        return;
    }
    if (pcie_endpoint_cap_init(pdev, LABDMA_EXP_OFFSET) < 0) {
        error_setg(errp, "%s: cannot add the PCI Express capability",
                   var->name);
        goto err_msi;
    }
    pcie_cap_flr_init(pdev);
    if (!vf && pcie_aer_init(pdev, PCI_ERR_VER, LABDMA_AER_OFFSET,
                             PCI_ERR_SIZEOF, errp) < 0) {
        goto err_pcie;
    }
    if (vf) {
        if (msix_init(pdev, labdma_msix_vectors(s), &s->vf_bar, LABDMA_BAR_REGS,
                      LABDMA_VF_MSIX_TABLE, &s->vf_bar, LABDMA_BAR_REGS,
                      LABDMA_VF_MSIX_PBA, 0, errp)) {
            goto err_pcie;
        }
        for (v = 0; v < labdma_msix_vectors(s); v++) {
            msix_vector_use(pdev, v);
        }
    } else if (var->msix) {
        if (msix_init_exclusive_bar(pdev, labdma_msix_vectors(s),
                                    LABDMA_BAR_MSIX, errp)) {
            goto err_aer;
        }
        for (v = 0; v < labdma_msix_vectors(s); v++) {
            msix_vector_use(pdev, v);
        }
    }
    if (s->sriov_vfs) {
        error_setg(&s->migration_blocker,
                   "labdma: a device with sriov-vfs does not migrate");
        if (migrate_add_blocker(s->migration_blocker, errp) < 0) {
            error_free(s->migration_blocker);
            s->migration_blocker = NULL;
            goto err_msix;
        }
        pcie_sriov_pf_init(pdev, LABDMA_SRIOV_OFFSET, TYPE_LABDMA,
                           LABDMA_VF_DEVICE_ID, s->sriov_vfs, s->sriov_vfs,
                           1, 1);
        pcie_sriov_pf_init_vf_bar(pdev, LABDMA_BAR_REGS,
                                  PCI_BASE_ADDRESS_SPACE_MEMORY |
                                  PCI_BASE_ADDRESS_MEM_TYPE_64,
                                  LABDMA_VF_BAR_SIZE);
    }
    s->buf = g_malloc(LABDMA_CHUNK);
    labdma_init_channels(s);
    labdma_soft_reset(s);
    return;

err_msix:
    if (var->msix) {
        msix_unuse_all_vectors(pdev);
        msix_uninit_exclusive_bar(pdev);
    }
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

    labdma_free_channels(s);
    g_clear_pointer(&s->buf, g_free);
    if (s->sriov_vfs) {
        pcie_sriov_pf_exit(pdev);
        migrate_del_blocker(s->migration_blocker);
        error_free(s->migration_blocker);
        s->migration_blocker = NULL;
    }
    if (pci_is_vf(pdev)) {
        msix_unuse_all_vectors(pdev);
        msix_uninit(pdev, &s->vf_bar, &s->vf_bar);
    } else if (labdma_variant(s)->msix) {
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
    if (s->sriov_vfs) {
        /*
         * A PF's reset clears VF Enable and its VFs go away; 7.2's helper
         * removes the VFs but leaves the bits in config space.
         */
        pcie_sriov_pf_disable_vfs(PCI_DEVICE(s));
        pci_set_word(PCI_DEVICE(s)->config + LABDMA_SRIOV_OFFSET +
                     PCI_SRIOV_CTRL, 0);
    }
}

static void labdma_instance_init(Object *obj)
{
    LabDmaState *s = LABDMA_BASE(obj);

    s->channels = LABDMA_BASE_GET_CLASS(obj)->variant->default_channels;
}

/* Channels whose work was cut short by migration carry on. */
static int labdma_post_load(void *opaque, int version_id)
{
    LabDmaState *s = opaque;
    unsigned c;

    /* the stream is input like any other: nothing in it may break us */
    for (c = 0; c < s->channels; c++) {
        LabDmaChannel *ch = &s->ch[c];

        if (ch->state > LABDMA_CH_HALTED || ch->error > LABDMA_ERR_MAX ||
            (labdma_variant(s)->msix && ch->vector >= labdma_msix_vectors(s)) ||
            (ch->state == LABDMA_CH_BUSY && !labdma_ring_config_ok(ch)) ||
            ch->fail_code > LABDMA_ERR_MAX) {
            error_report("labdma: channel %u: inconsistent migration state",
                         c);
            return -EINVAL;
        }
    }
    for (c = 0; c < s->channels; c++) {
        if (s->ch[c].state == LABDMA_CH_BUSY || s->ch[c].coal_expired) {
            qemu_bh_schedule(s->ch[c].bh);
        }
    }
    return 0;
}

static const VMStateDescription labdma_vmstate = {
    .name = "labdma",
    .version_id = 1,
    .minimum_version_id = 1,
    .post_load = labdma_post_load,
    .fields = (VMStateField[]) {
        VMSTATE_PCI_DEVICE(parent_obj, LabDmaState),
        VMSTATE_MSIX(parent_obj, LabDmaState),
        VMSTATE_STRUCT(parent_obj.exp.aer_log, LabDmaState, 0,
                       vmstate_pcie_aer_log, PCIEAERLog),
        VMSTATE_UINT8_EQUAL(channels, LabDmaState,
                            "the destination needs the same channels="),
        VMSTATE_UINT32(ctrl, LabDmaState),
        VMSTATE_UINT32(scratch, LabDmaState),
        VMSTATE_UINT32(int_status, LabDmaState),
        VMSTATE_UINT32(int_mask, LabDmaState),
        VMSTATE_UINT32(timestamp_hi, LabDmaState),
        VMSTATE_INT64(link_free_at, LabDmaState),
        VMSTATE_BOOL(spurious_intx, LabDmaState),
        VMSTATE_UINT64(faults_injected, LabDmaState),
        VMSTATE_STRUCT_ARRAY(ch, LabDmaState, LABDMA_MAX_CHANNELS, 1,
                             labdma_channel_vmstate, LabDmaChannel),
        VMSTATE_END_OF_LIST()
    },
};

/* every variant */
static Property labdma_base_properties[] = {
    DEFINE_PROP_UINT64("dma-mask", LabDmaState, dma_mask, UINT64_MAX),
    DEFINE_PROP_UINT32("desc-latency-ns", LabDmaState, desc_latency_ns, 0),
    DEFINE_PROP_UINT32("channel-bw-mbps", LabDmaState, channel_bw_mbps, 0),
    DEFINE_PROP_UINT32("link-bw-mbps", LabDmaState, link_bw_mbps, 0),
    DEFINE_PROP_END_OF_LIST(),
};

/* variants with more than one channel */
static Property labdma_channel_properties[] = {
    DEFINE_PROP_UINT8("channels", LabDmaState, channels, 4),
    DEFINE_PROP_UINT16("sriov-vfs", LabDmaState, sriov_vfs, 0),
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
    device_class_set_props(dc, labdma_base_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);

    labdma_fault_class_init(oc);
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
        device_class_set_props(dc, labdma_channel_properties);
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
