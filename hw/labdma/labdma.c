/*
 * labdma: the lab's PCIe DMA engine (docs/labdma/datasheet.md)
 *
 * Two sibling types share this model: "labdma" (1af4:10f0, up to 8
 * channels, MSI-X, compute operations) and "labdma-lite" (1af4:10f1, one
 * channel, MSI only, copy/fill).
 *
 * A channel walks a descriptor ring in guest memory.  Work runs only in the
 * channel's bottom half (guarded against DMA into our own registers), a
 * bounded amount per run; timers only schedule that bottom half.  Every
 * register write that stops a channel (RUN clear, ABORT, RESET) takes
 * effect before it returns: the bottom half and the vCPU both run under
 * the BQL, so once a guest has read back IDLE or HALTED the device does
 * not touch its memory again.  Every DMA result is checked and turned into
 * a datasheet error code, never an abort.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/crc32c.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "qapi/error.h"
#include "qapi/visitor.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci.h"
#include "hw/pci/pcie.h"
#include "hw/pci/pcie_aer.h"
#include "hw/pci/pcie_sriov.h"
#include "hw/qdev-properties.h"
#include "migration/blocker.h"
#include "migration/vmstate.h"
#include "exec/memory.h"
#include "qom/object.h"
#include "trace.h"

#define TYPE_LABDMA_BASE        "labdma-base"
#define TYPE_LABDMA             "labdma"
#define TYPE_LABDMA_LITE        "labdma-lite"

#define LABDMA_VENDOR_ID        0x1af4
#define LABDMA_DEVICE_ID        0x10f0
#define LABDMA_LITE_DEVICE_ID   0x10f1
#define LABDMA_VF_DEVICE_ID     0x10f2
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
#define LABDMA_SRIOV_OFFSET     (LABDMA_AER_OFFSET + PCI_ERR_SIZEOF)

/* SR-IOV (datasheet 12): VFs at the PF's function + 1, 2, ... */
#define LABDMA_MAX_VFS          7
#define LABDMA_VF_BAR_SIZE      (32 * KiB)
#define LABDMA_VF_MSIX_TABLE    (16 * KiB)
#define LABDMA_VF_MSIX_PBA      (24 * KiB)

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

/* channel registers, at LABDMA_CH_BASE + c * LABDMA_CH_STRIDE */
#define LABDMA_CH_BASE          0x1000
#define LABDMA_CH_STRIDE        0x100
#define CH_RING_LO              0x00
#define CH_RING_HI              0x04
#define CH_RING_SIZE            0x08
#define CH_TAIL                 0x0c
#define CH_HEAD                 0x10
#define CH_CTRL                 0x14
#define CH_STATUS               0x18
#define CH_ERR_INDEX            0x1c
#define CH_ERR_ADDR_LO          0x20
#define CH_ERR_ADDR_HI          0x24
#define CH_WB_LO                0x28
#define CH_WB_HI                0x2c
#define CH_BYTES_LO             0x30
#define CH_BYTES_HI             0x34
#define CH_DESCS_LO             0x38
#define CH_DESCS_HI             0x3c
#define CH_VECTOR               0x40

#define LABDMA_ID               0x4c444d41u
#define LABDMA_VERSION          0x00010000u

#define CAP_CHANNELS_MASK       0xfu
#define CAP_OPS_SHIFT           8
#define CAP_MSIX                (1u << 16)
#define CAP_FAULT               (1u << 17)
#define CAP_RING_LOG2_SHIFT     20
#define LABDMA_RING_LOG2        12
#define LABDMA_RING_MAX         (1u << LABDMA_RING_LOG2)
#define LABDMA_RING_ALIGN       64

#define CTRL_ENABLE             (1u << 0)
#define CTRL_RESET              (1u << 1)
#define STATUS_ENABLED          (1u << 0)
#define STATUS_ERROR            (1u << 1)

#define CH_CTRL_RUN             (1u << 0)
#define CH_CTRL_ABORT           (1u << 1)
#define CH_CTRL_RESET           (1u << 2)
#define CH_CTRL_IRQ_EN          (1u << 3)
#define CH_CTRL_STORED          (CH_CTRL_RUN | CH_CTRL_IRQ_EN | 0xffffff00u)
#define CH_CTRL_COAL_COUNT(v)   (((v) >> 8) & 0xffu)
#define CH_CTRL_COAL_US(v)      ((v) >> 16)

#define INT_CHANNELS            0x000000ffu
#define INT_ERROR               (1u << 16)
#define INT_TEST                0xff000000u
#define INT_ALL                 (INT_CHANNELS | INT_ERROR | INT_TEST)

/* descriptors (datasheet 6.1) */
#define LABDMA_DESC_SIZE        32
#define DESC_STATUS_OFFSET      0x18
#define DESC_STATUS_DONE        (1u << 31)
#define DESC_FLAG_IRQ           (1u << 0)
#define DESC_FLAG_FENCE         (1u << 1)
#define DESC_FLAGS_KNOWN        (DESC_FLAG_IRQ | DESC_FLAG_FENCE)

/* how much one bottom-half run may do before it yields the main loop */
#define LABDMA_RUN_DESCS        32
#define LABDMA_RUN_BYTES        (4 * MiB)
/* staging buffer for one piece of a transfer */
#define LABDMA_CHUNK            (256 * KiB)
/* below this, copying through the staging buffer beats mapping in place */
#define LABDMA_MAP_MIN          (4 * KiB)

/* operation codes (datasheet 6.2) */
enum {
    LABDMA_OP_NOP = 0,
    LABDMA_OP_COPY,
    LABDMA_OP_FILL,
    LABDMA_OP_MUL2,
    LABDMA_OP_MUL4,
    LABDMA_OP_CRC32C,
};

/* channel states and error codes (datasheet 7, 8) */
enum {
    LABDMA_CH_IDLE = 0,
    LABDMA_CH_BUSY,
    LABDMA_CH_HALTED,
};

enum {
    LABDMA_ERR_NONE = 0,
    LABDMA_ERR_BAD_LEN,
    LABDMA_ERR_BAD_OP,
    LABDMA_ERR_BAD_ALIGN,
    LABDMA_ERR_DESC_READ,
    LABDMA_ERR_SRC_READ,
    LABDMA_ERR_DST_WRITE,
    LABDMA_ERR_WB_WRITE,
    LABDMA_ERR_RING_CONFIG,
    LABDMA_ERR_ABORTED,
    LABDMA_ERR_INJECTED,
    LABDMA_ERR_MAX = LABDMA_ERR_INJECTED,
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

/* A descriptor as the device sees it (datasheet 6.1), in host order. */
typedef struct LabDmaDesc {
    uint64_t src;
    uint64_t dst;
    uint32_t len;
    uint16_t op;
    uint16_t flags;
} LabDmaDesc;

typedef struct LabDmaChannel {
    LabDmaState *dev;
    uint8_t index;
    QEMUBH *bh;
    QEMUTimer *pace_timer;      /* the fetched descriptor's completion time */
    QEMUTimer *coal_timer;      /* coalescing timeout */

    /* registers */
    uint64_t ring_base;
    uint32_t ring_size;
    uint32_t tail;
    uint32_t head;
    uint32_t ctrl;
    uint8_t state;
    uint8_t error;
    bool config_error;          /* a ring register written while active */
    uint32_t err_index;
    uint64_t err_addr;
    uint64_t wb_addr;
    uint64_t bytes;
    uint64_t descs;
    uint32_t bytes_hi;          /* BYTES_HI as latched by BYTES_LO */
    uint32_t descs_hi;          /* DESCS_HI as latched by DESCS_LO */
    uint32_t vector;

    /* the descriptor fetched and waiting for its completion time */
    bool cur_valid;
    bool cur_delayed;           /* its time includes an injected delay */
    int64_t cur_due;
    int64_t link_start;         /* its booking of the shared link, if any */
    int64_t link_end;
    LabDmaDesc cur;
    uint32_t coal_pending;      /* completions not yet signalled */
    bool coal_expired;          /* the coalescing timeout went off */

    /* fault injection (datasheet 9) */
    int32_t fail_after;         /* -1: off; n: the n-th next descriptor */
    uint8_t fail_code;
    bool hang;
    bool hang_seen;             /* the hang has held work back */
    uint32_t drop_irqs;
    bool corrupt;
    uint64_t delay_ns;
} LabDmaChannel;

struct LabDmaState {
    PCIDevice parent_obj;

    MemoryRegion regs;
    MemoryRegion vf_bar;        /* a VF's BAR0: registers + MSI-X */
    Error *migration_blocker;   /* SR-IOV: VFs do not migrate */
    uint8_t *buf;               /* LABDMA_CHUNK bytes of staging */
    LabDmaChannel ch[LABDMA_MAX_CHANNELS];

    /* properties */
    uint8_t channels;
    uint16_t sriov_vfs;
    uint64_t dma_mask;
    uint32_t desc_latency_ns;
    uint32_t channel_bw_mbps;
    uint32_t link_bw_mbps;

    uint32_t ctrl;
    uint32_t scratch;
    uint32_t int_status;
    uint32_t int_mask;
    uint32_t timestamp_hi;      /* latched by a TIMESTAMP_LO read */
    int64_t link_free_at;       /* virtual time the shared link frees up */
    bool spurious_intx;         /* injected: INTx up until INT_STATUS read */
    uint64_t faults_injected;
};

static const LabDmaVariant *labdma_variant(LabDmaState *s)
{
    return LABDMA_BASE_GET_CLASS(s)->variant;
}

static unsigned labdma_msix_vectors(LabDmaState *s)
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
static void labdma_update_irq(LabDmaState *s, uint32_t fire)
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
static void labdma_raise(LabDmaState *s, uint32_t bits)
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

/* ---- channels ---------------------------------------------------------- */

static bool labdma_ch_active(LabDmaChannel *ch)
{
    return (ch->ctrl & CH_CTRL_RUN) && ch->state != LABDMA_CH_HALTED;
}

/*
 * Forget the fetched descriptor: it is fetched again when the channel runs
 * again, and gives back its booking of the shared link if nothing was
 * booked after it.
 */
static void labdma_ch_discard(LabDmaChannel *ch)
{
    LabDmaState *s = ch->dev;

    if (ch->cur_valid && ch->link_end && s->link_free_at == ch->link_end) {
        s->link_free_at = ch->link_start;
    }
    ch->cur_valid = false;
    ch->link_start = ch->link_end = 0;
    timer_del(ch->pace_timer);
}

/* Forget the fetched descriptor and every timer: nothing runs after this. */
static void labdma_ch_stop(LabDmaChannel *ch)
{
    labdma_ch_discard(ch);
    qemu_bh_cancel(ch->bh);
}

static void labdma_ch_clear_faults(LabDmaChannel *ch)
{
    ch->fail_after = -1;
    ch->fail_code = 0;
    ch->hang = false;
    ch->hang_seen = false;
    ch->drop_irqs = 0;
    ch->corrupt = false;
    ch->delay_ns = 0;
}

/* Signal the completions counted so far on the channel's source bit. */
static void labdma_ch_signal(LabDmaChannel *ch)
{
    LabDmaState *s = ch->dev;

    ch->coal_expired = false;
    if (!ch->coal_pending) {
        return;
    }
    ch->coal_pending = 0;
    timer_del(ch->coal_timer);
    if (ch->drop_irqs) {
        ch->drop_irqs--;
        s->faults_injected++;
        trace_labdma_fault("drop-irq", ch->index);
        return;
    }
    trace_labdma_ch_irq(ch->index);
    labdma_raise(s, 1u << ch->index);
}

/* Like DMA, interrupt messages go out from the guarded bottom half only. */
static void labdma_ch_coal_timeout(void *opaque)
{
    LabDmaChannel *ch = opaque;

    ch->coal_expired = true;
    qemu_bh_schedule(ch->bh);
}

/* A completion that asked for an interrupt, subject to coalescing (5.3). */
static void labdma_ch_completed_irq(LabDmaChannel *ch)
{
    unsigned count = CH_CTRL_COAL_COUNT(ch->ctrl);
    unsigned timeout_us = CH_CTRL_COAL_US(ch->ctrl);

    if (!(ch->ctrl & CH_CTRL_IRQ_EN)) {
        return;
    }
    ch->coal_pending++;
    if (ch->coal_pending >= MAX(count, 1)) {
        labdma_ch_signal(ch);
    } else if (timeout_us && !timer_pending(ch->coal_timer)) {
        timer_mod(ch->coal_timer, qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) +
                  (int64_t)timeout_us * SCALE_US);
    }
}

static void labdma_ch_halt(LabDmaChannel *ch, uint8_t error, uint64_t addr)
{
    LabDmaState *s = ch->dev;

    labdma_ch_stop(ch);
    ch->state = LABDMA_CH_HALTED;
    ch->error = error;
    ch->err_index = ch->head;
    ch->err_addr = addr;
    trace_labdma_ch_halt(ch->index, error, ch->head, addr);
    ch->coal_pending += (ch->ctrl & CH_CTRL_IRQ_EN) ? 1 : 0;
    labdma_ch_signal(ch);
    if (error != LABDMA_ERR_ABORTED) {
        /* an abort is software's own doing: no error interrupt */
        labdma_raise(s, INT_ERROR);
    }
}

/* Channel RESET (datasheet 7): ring configuration and vector are kept. */
static void labdma_ch_reset(LabDmaChannel *ch)
{
    labdma_ch_stop(ch);
    timer_del(ch->coal_timer);
    ch->tail = 0;
    ch->head = 0;
    ch->ctrl = 0;
    ch->state = LABDMA_CH_IDLE;
    ch->error = LABDMA_ERR_NONE;
    ch->config_error = false;
    ch->err_index = 0;
    ch->err_addr = 0;
    ch->bytes = 0;
    ch->descs = 0;
    ch->bytes_hi = 0;
    ch->descs_hi = 0;
    ch->coal_pending = 0;
    ch->coal_expired = false;
    labdma_ch_clear_faults(ch);
}

static void labdma_ch_reset_all(LabDmaChannel *ch)
{
    labdma_ch_reset(ch);
    ch->ring_base = 0;
    ch->ring_size = 0;
    ch->wb_addr = 0;
    ch->vector = 1 + ch->index;
}

static bool labdma_reachable(LabDmaState *s, uint64_t addr, uint64_t len)
{
    uint64_t last = addr + len - 1;

    return last >= addr && !((addr | last) & ~s->dma_mask);
}

static bool labdma_ring_config_ok(LabDmaChannel *ch)
{
    return !ch->config_error && is_power_of_2(ch->ring_size) &&
           ch->ring_size >= 2 && ch->ring_size <= LABDMA_RING_MAX &&
           ch->tail < ch->ring_size && ch->head < ch->ring_size;
}

static uint64_t labdma_desc_addr(LabDmaChannel *ch)
{
    return ch->ring_base + (uint64_t)ch->head * LABDMA_DESC_SIZE;
}

static uint8_t labdma_fetch(LabDmaChannel *ch, LabDmaDesc *d)
{
    LabDmaState *s = ch->dev;
    uint64_t addr = labdma_desc_addr(ch);
    uint8_t raw[LABDMA_DESC_SIZE];

    if (!labdma_reachable(s, addr, sizeof(raw)) ||
        pci_dma_read(PCI_DEVICE(s), addr, raw, sizeof(raw)) != MEMTX_OK) {
        return LABDMA_ERR_DESC_READ;
    }
    d->src = ldq_le_p(raw + 0x00);
    d->dst = ldq_le_p(raw + 0x08);
    d->len = ldl_le_p(raw + 0x10);
    d->op = lduw_le_p(raw + 0x14);
    d->flags = lduw_le_p(raw + 0x16);
    return LABDMA_ERR_NONE;
}

static bool labdma_op_reads(uint16_t op)
{
    return op == LABDMA_OP_COPY || op == LABDMA_OP_MUL2 ||
           op == LABDMA_OP_MUL4 || op == LABDMA_OP_CRC32C;
}

static bool labdma_op_writes(uint16_t op)
{
    return op == LABDMA_OP_COPY || op == LABDMA_OP_FILL ||
           op == LABDMA_OP_MUL2 || op == LABDMA_OP_MUL4;
}

/* Checks that need no memory access (datasheet 8, in this order). */
static uint8_t labdma_check(LabDmaState *s, const LabDmaDesc *d)
{
    const LabDmaVariant *var = labdma_variant(s);
    bool elements = d->op == LABDMA_OP_MUL2 || d->op == LABDMA_OP_MUL4;

    if (d->op >= 8 || !(var->ops & BIT(d->op)) ||
        (d->flags & ~DESC_FLAGS_KNOWN)) {
        return LABDMA_ERR_BAD_OP;
    }
    if (d->op == LABDMA_OP_NOP) {
        return LABDMA_ERR_NONE;
    }
    if (d->len == 0 || d->len > var->max_xfer || (elements && d->len % 4)) {
        return LABDMA_ERR_BAD_LEN;
    }
    if (elements && ((d->src | d->dst) & 3)) {
        return LABDMA_ERR_BAD_ALIGN;
    }
    return LABDMA_ERR_NONE;
}

static void labdma_multiply(uint8_t *dst, const uint8_t *src, uint32_t len,
                            unsigned shift)
{
    uint32_t i;

    for (i = 0; i < len; i += 4) {
        stl_le_p(dst + i, ldl_le_p(src + i) << shift);
    }
}

/*
 * Map [addr, addr + len) for direct access when all of it is RAM the
 * device may access that way; NULL otherwise (MMIO, ROM for a write, a
 * hole, or too short to be worth it), and the caller goes through
 * pci_dma_read/write, which report errors.  dma_memory_map alone cannot
 * tell: for anything but RAM it hands out a bounce buffer and drops the
 * access's result.
 */
static void *labdma_map(LabDmaState *s, dma_addr_t addr, dma_addr_t len,
                        DMADirection dir)
{
    PCIDevice *pdev = PCI_DEVICE(s);
    bool is_write = dir == DMA_DIRECTION_FROM_DEVICE;
    hwaddr xlat, plen = len;
    MemoryRegion *mr;
    dma_addr_t mapped = len;
    void *p;

    if (len < LABDMA_MAP_MIN) {
        return NULL;
    }
    RCU_READ_LOCK_GUARD();
    mr = address_space_translate(pci_get_address_space(pdev), addr, &xlat,
                                 &plen, is_write, MEMTXATTRS_UNSPECIFIED);
    if (plen < len || !memory_access_is_direct(mr, is_write)) {
        return NULL;
    }
    p = pci_dma_map(pdev, addr, &mapped, dir);
    if (p && mapped < len) {
        pci_dma_unmap(pdev, p, mapped, dir, 0);
        return NULL;
    }
    return p;
}

/*
 * One piece of an operation: source bytes at @src (mapped guest memory or
 * the staging buffer), result to @dst (mapped, or the staging buffer for a
 * pci_dma_write after).
 */
static void labdma_compute(const LabDmaDesc *d, uint8_t *dst,
                           const uint8_t *src, uint32_t n, uint32_t *crc)
{
    uint32_t i;

    switch (d->op) {
    case LABDMA_OP_COPY:
        if (dst != src) {
            memmove(dst, src, n);
        }
        break;
    case LABDMA_OP_FILL:
        for (i = 0; i < n; i += 4) {
            uint8_t pattern[4];

            stl_le_p(pattern, (uint32_t)d->src);
            memcpy(dst + i, pattern, MIN(4, n - i));
        }
        break;
    case LABDMA_OP_MUL2:
        labdma_multiply(dst, src, n, 1);
        break;
    case LABDMA_OP_MUL4:
        labdma_multiply(dst, src, n, 2);
        break;
    case LABDMA_OP_CRC32C:
        *crc = crc32c(*crc, src, n) ^ 0xffffffff;
        break;
    }
}

/*
 * Run an operation in pieces of at most LABDMA_CHUNK bytes.  RAM is
 * accessed in place; anything else through the staging buffer, each piece
 * read whole before it is written.  Pieces walk backwards when the
 * destination overlaps the source from above, so COPY, MUL2 and MUL4 have
 * memmove semantics (MUL2/MUL4 always stage their source, since they
 * transform element by element).
 */
static uint8_t labdma_execute(LabDmaChannel *ch, const LabDmaDesc *d,
                              uint32_t *result, uint64_t *err_addr)
{
    LabDmaState *s = ch->dev;
    PCIDevice *pdev = PCI_DEVICE(s);
    bool reads = labdma_op_reads(d->op);
    bool writes = labdma_op_writes(d->op);
    bool overlap = reads && writes && d->dst < d->src + d->len &&
                   d->src < d->dst + d->len;
    bool backwards = overlap && d->dst > d->src;
    /* element-wise ops read a staged copy: IOVAs may alias in host memory */
    bool stage_src = d->op == LABDMA_OP_MUL2 || d->op == LABDMA_OP_MUL4;
    uint32_t crc = 0xffffffff;
    uint32_t done;

    *result = 0;
    if (d->op == LABDMA_OP_NOP) {
        return LABDMA_ERR_NONE;
    }
    if (reads && !labdma_reachable(s, d->src, d->len)) {
        *err_addr = d->src;
        return LABDMA_ERR_SRC_READ;
    }
    if (writes && !labdma_reachable(s, d->dst, d->len)) {
        *err_addr = d->dst;
        return LABDMA_ERR_DST_WRITE;
    }

    for (done = 0; done < d->len;) {
        uint32_t n = MIN(d->len - done, LABDMA_CHUNK);
        uint32_t off = backwards ? d->len - done - n : done;
        uint8_t *src = NULL, *dst = NULL;
        const uint8_t *in = s->buf;
        uint8_t *out = s->buf;
        uint8_t error = LABDMA_ERR_NONE;

        if (reads) {
            src = stage_src ? NULL
                            : labdma_map(s, d->src + off, n,
                                         DMA_DIRECTION_TO_DEVICE);
            if (src) {
                in = src;
            } else if (pci_dma_read(pdev, d->src + off, s->buf, n) !=
                       MEMTX_OK) {
                *err_addr = d->src + off;
                return LABDMA_ERR_SRC_READ;
            }
        }
        if (writes) {
            dst = labdma_map(s, d->dst + off, n, DMA_DIRECTION_FROM_DEVICE);
            if (dst) {
                out = dst;
            }
        }
        labdma_compute(d, out, in, n, &crc);
        if (src) {
            pci_dma_unmap(pdev, src, n, DMA_DIRECTION_TO_DEVICE, n);
        }
        if (dst) {
            pci_dma_unmap(pdev, dst, n, DMA_DIRECTION_FROM_DEVICE, n);
        } else if (writes &&
                   pci_dma_write(pdev, d->dst + off, s->buf, n) != MEMTX_OK) {
            *err_addr = d->dst + off;
            error = LABDMA_ERR_DST_WRITE;
        }
        if (error) {
            return error;
        }
        done += n;
    }
    if (d->op == LABDMA_OP_CRC32C) {
        *result = crc ^ 0xffffffff;
    }

    if (ch->corrupt && (writes || d->op == LABDMA_OP_CRC32C)) {
        ch->corrupt = false;
        s->faults_injected++;
        trace_labdma_fault("corrupt", ch->index);
        if (writes) {
            uint8_t byte;

            MemTxResult r = pci_dma_read(pdev, d->dst, &byte, 1);

            if (r == MEMTX_OK) {
                byte = ~byte;
                r = pci_dma_write(pdev, d->dst, &byte, 1);
            }
            if (r != MEMTX_OK) {
                /* the data was just written there: a failure now is news */
                qemu_log_mask(LOG_GUEST_ERROR, "labdma: channel %u: cannot"
                              " corrupt 0x%" PRIx64 " any more\n", ch->index,
                              d->dst);
            }
        } else {
            *result = ~*result;
        }
    }
    return LABDMA_ERR_NONE;
}

/*
 * When a fetched descriptor completes under the timing model (10).  A
 * descriptor that fails its checks costs nothing: it reports at once.
 */
static int64_t labdma_due(LabDmaChannel *ch, const LabDmaDesc *d, int64_t now)
{
    LabDmaState *s = ch->dev;
    uint64_t len = d->op == LABDMA_OP_NOP ? 0 : d->len;
    int64_t due;

    ch->link_start = ch->link_end = 0;
    ch->cur_delayed = false;
    if (labdma_check(s, d)) {
        return now;
    }
    due = now + s->desc_latency_ns;
    if (s->channel_bw_mbps) {
        due += DIV_ROUND_UP(len * 1000, s->channel_bw_mbps);
    }
    if (s->link_bw_mbps && len) {
        ch->link_start = MAX(now, s->link_free_at);
        ch->link_end = ch->link_start +
                       DIV_ROUND_UP(len * 1000, s->link_bw_mbps);
        s->link_free_at = ch->link_end;
        due = MAX(due, ch->link_end);
    }
    if (ch->delay_ns) {
        /* counted and disarmed when the descriptor runs (it may not) */
        ch->cur_delayed = true;
        due += ch->delay_ns;
    }
    return due;
}

/*
 * Write a descriptor's status and result, then HEAD to the write-back.
 * On failure, @err_addr is the address that could not be written.
 */
static uint8_t labdma_complete(LabDmaChannel *ch, uint8_t error,
                               uint32_t result, uint64_t *err_addr)
{
    LabDmaState *s = ch->dev;
    uint64_t status_addr = labdma_desc_addr(ch) + DESC_STATUS_OFFSET;
    uint32_t next;
    uint8_t wb[8];

    stl_le_p(wb, DESC_STATUS_DONE | error);
    stl_le_p(wb + 4, result);
    if (pci_dma_write(PCI_DEVICE(s), status_addr, wb, sizeof(wb)) !=
        MEMTX_OK) {
        *err_addr = status_addr;
        return LABDMA_ERR_WB_WRITE;
    }
    if (error) {
        return error;
    }
    next = (ch->head + 1) & (ch->ring_size - 1);
    if (ch->wb_addr &&
        (!labdma_reachable(s, ch->wb_addr, 4) ||
         stl_le_pci_dma(PCI_DEVICE(s), ch->wb_addr, next,
                        MEMTXATTRS_UNSPECIFIED) != MEMTX_OK)) {
        /* HEAD stays on the descriptor whose completion was not reported */
        *err_addr = ch->wb_addr;
        return LABDMA_ERR_WB_WRITE;
    }
    ch->head = next;
    return LABDMA_ERR_NONE;
}

/*
 * Take the descriptor at HEAD through fetch, checks, its completion time,
 * execution and write-back.  Returns false when the channel must stop for
 * now (halted, waiting for its timer, or hung by fault injection).
 */
static bool labdma_ch_step(LabDmaChannel *ch, uint64_t *bytes)
{
    LabDmaState *s = ch->dev;
    int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    uint64_t err_addr;
    uint32_t result;
    uint8_t error;

    if (!ch->cur_valid) {
        error = labdma_fetch(ch, &ch->cur);
        if (error) {
            labdma_ch_halt(ch, error, labdma_desc_addr(ch));
            return false;
        }
        ch->cur_valid = true;
        ch->cur_due = labdma_due(ch, &ch->cur, now);
        trace_labdma_ch_fetch(ch->index, ch->head, ch->cur.op, ch->cur.len,
                              ch->cur_due - now);
    }
    if (ch->cur_due > now) {
        timer_mod(ch->pace_timer, ch->cur_due);
        return false;
    }
    ch->cur_valid = false;
    if (ch->cur_delayed) {
        ch->delay_ns = 0;
        s->faults_injected++;
        trace_labdma_fault("delay", ch->index);
    }

    err_addr = labdma_desc_addr(ch);
    error = labdma_check(s, &ch->cur);
    if (!error && ch->fail_after == 0) {
        ch->fail_after = -1;
        error = ch->fail_code;
        s->faults_injected++;
        trace_labdma_fault("fail", ch->index);
    } else if (ch->fail_after > 0) {
        ch->fail_after--;
    }
    result = 0;
    if (!error) {
        error = labdma_execute(ch, &ch->cur, &result, &err_addr);
    }
    if (error) {
        uint64_t ignored;

        /* best effort: the failing descriptor carries its code too */
        labdma_complete(ch, error, 0, &ignored);
        labdma_ch_halt(ch, error, err_addr);
        return false;
    }
    error = labdma_complete(ch, LABDMA_ERR_NONE, result, &err_addr);
    if (error) {
        labdma_ch_halt(ch, error, err_addr);
        return false;
    }
    if (ch->cur.op != LABDMA_OP_NOP) {
        ch->bytes += ch->cur.len;
        *bytes += ch->cur.len;
    }
    ch->descs++;
    trace_labdma_ch_done(ch->index, ch->head, result);
    if (ch->cur.flags & DESC_FLAG_IRQ) {
        labdma_ch_completed_irq(ch);
    }
    return true;
}

static void labdma_ch_run(void *opaque)
{
    LabDmaChannel *ch = opaque;
    LabDmaState *s = ch->dev;
    uint64_t bytes = 0;
    unsigned n;

    if (ch->coal_expired) {
        labdma_ch_signal(ch);
    }
    if (!(s->ctrl & CTRL_ENABLE) || !labdma_ch_active(ch)) {
        return;
    }
    if (ch->hang) {
        if (!ch->hang_seen && ch->head != ch->tail) {
            ch->hang_seen = true;
            s->faults_injected++;
            trace_labdma_fault("hang", ch->index);
        }
        return;
    }
    for (n = 0; ch->head != ch->tail; n++) {
        if (n == LABDMA_RUN_DESCS || bytes >= LABDMA_RUN_BYTES) {
            /* yield: the next run comes after the main loop's other work */
            qemu_bh_schedule(ch->bh);
            return;
        }
        if (!labdma_ch_step(ch, &bytes)) {
            return;
        }
        if (ch->hang) {
            return;
        }
    }
    /* TAIL may have been moved back onto HEAD behind a fetched descriptor */
    labdma_ch_discard(ch);
    ch->state = LABDMA_CH_IDLE;
    labdma_ch_signal(ch);
}

static void labdma_ch_pace_timeout(void *opaque)
{
    LabDmaChannel *ch = opaque;

    /* DMA only ever happens in the guarded bottom half */
    qemu_bh_schedule(ch->bh);
}

/* New work or a new RUN: become BUSY and schedule the bottom half. */
static void labdma_ch_kick(LabDmaChannel *ch)
{
    if (!labdma_ch_active(ch)) {
        return;
    }
    if (!labdma_ring_config_ok(ch)) {
        labdma_ch_halt(ch, LABDMA_ERR_RING_CONFIG, ch->ring_base);
        return;
    }
    if (ch->head != ch->tail) {
        ch->state = LABDMA_CH_BUSY;
        qemu_bh_schedule(ch->bh);
    }
}

static void labdma_ch_write_ctrl(LabDmaChannel *ch, uint32_t val)
{
    LabDmaState *s = ch->dev;

    if (val & CH_CTRL_RESET) {
        trace_labdma_reset("channel");
        labdma_ch_reset(ch);
        s->int_status &= ~(1u << ch->index);
        labdma_update_irq(s, 0);
        return;
    }
    if (val & CH_CTRL_ABORT) {
        ch->hang = false;
        if (ch->state != LABDMA_CH_HALTED) {
            labdma_ch_halt(ch, LABDMA_ERR_ABORTED, labdma_desc_addr(ch));
        }
        return;
    }
    ch->ctrl = val & CH_CTRL_STORED;
    if (!(ch->ctrl & CH_CTRL_RUN)) {
        /* paused: the fetched descriptor is fetched again on the next RUN */
        labdma_ch_stop(ch);
        if (ch->state == LABDMA_CH_BUSY) {
            ch->state = LABDMA_CH_IDLE;
        }
        labdma_ch_signal(ch);   /* going idle flushes coalescing */
        return;
    }
    labdma_ch_kick(ch);
}

/* Ring registers are writable only while the channel is stopped (4). */
static bool labdma_ch_config_writable(LabDmaChannel *ch, hwaddr reg)
{
    if (!(ch->ctrl & CH_CTRL_RUN) && ch->state != LABDMA_CH_BUSY) {
        return true;
    }
    qemu_log_mask(LOG_GUEST_ERROR,
                  "labdma: channel %u register 0x%02" HWADDR_PRIx
                  " written while running: ignored, ring configuration error\n",
                  ch->index, reg);
    ch->config_error = true;
    return false;
}

static uint32_t labdma_ch_read(LabDmaChannel *ch, hwaddr reg)
{
    switch (reg) {
    case CH_RING_LO:
        return ch->ring_base;
    case CH_RING_HI:
        return ch->ring_base >> 32;
    case CH_RING_SIZE:
        return ch->ring_size;
    case CH_TAIL:
        return ch->tail;
    case CH_HEAD:
        return ch->head;
    case CH_CTRL:
        return ch->ctrl;
    case CH_STATUS:
        return ch->state | (uint32_t)ch->error << 8;
    case CH_ERR_INDEX:
        return ch->err_index;
    case CH_ERR_ADDR_LO:
        return ch->err_addr;
    case CH_ERR_ADDR_HI:
        return ch->err_addr >> 32;
    case CH_WB_LO:
        return ch->wb_addr;
    case CH_WB_HI:
        return ch->wb_addr >> 32;
    case CH_BYTES_LO:
        ch->bytes_hi = ch->bytes >> 32;
        return ch->bytes;
    case CH_BYTES_HI:
        return ch->bytes_hi;
    case CH_DESCS_LO:
        ch->descs_hi = ch->descs >> 32;
        return ch->descs;
    case CH_DESCS_HI:
        return ch->descs_hi;
    case CH_VECTOR:
        return labdma_variant(ch->dev)->msix ? ch->vector : 0;
    default:
        return 0;
    }
}

static void labdma_ch_write(LabDmaChannel *ch, hwaddr reg, uint32_t val)
{
    LabDmaState *s = ch->dev;

    switch (reg) {
    case CH_RING_LO:
        if (labdma_ch_config_writable(ch, reg)) {
            ch->ring_base = deposit64(ch->ring_base, 0, 32,
                                      val & ~(LABDMA_RING_ALIGN - 1));
        }
        break;
    case CH_RING_HI:
        if (labdma_ch_config_writable(ch, reg)) {
            ch->ring_base = deposit64(ch->ring_base, 32, 32, val);
        }
        break;
    case CH_RING_SIZE:
        if (labdma_ch_config_writable(ch, reg)) {
            ch->ring_size = val;
        }
        break;
    case CH_WB_LO:
        if (labdma_ch_config_writable(ch, reg)) {
            ch->wb_addr = deposit64(ch->wb_addr, 0, 32, val & ~7u);
        }
        break;
    case CH_WB_HI:
        if (labdma_ch_config_writable(ch, reg)) {
            ch->wb_addr = deposit64(ch->wb_addr, 32, 32, val);
        }
        break;
    case CH_TAIL:
        ch->tail = val;
        if (labdma_ch_active(ch) && val >= ch->ring_size) {
            labdma_ch_halt(ch, LABDMA_ERR_RING_CONFIG, ch->ring_base);
            break;
        }
        labdma_ch_kick(ch);
        break;
    case CH_CTRL:
        labdma_ch_write_ctrl(ch, val);
        break;
    case CH_VECTOR:
        if (!labdma_variant(s)->msix || val >= labdma_msix_vectors(s)) {
            qemu_log_mask(LOG_GUEST_ERROR,
                          "labdma: channel %u: no MSI-X vector %u\n",
                          ch->index, val);
            break;
        }
        ch->vector = val;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR,
                      "labdma: write 0x%08x to read-only or unknown channel %u"
                      " register 0x%02" HWADDR_PRIx "\n", val, ch->index, reg);
        break;
    }
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

/* ---- fault injection (datasheet 9) ------------------------------------- */

/*
 * Parse "N[:N[:N]]" into @vals; @need values are required, the rest keep
 * their defaults.  Returns false with @errp set on anything else.
 */
static bool labdma_parse_fault(const char *name, const char *value,
                               uint64_t *vals, unsigned need, unsigned max,
                               Error **errp)
{
    const char *p = value;
    unsigned n;

    for (n = 0; n < max && *p; n++) {
        if (qemu_strtou64(p, &p, 0, &vals[n]) < 0 ||
            (*p && *p != ':')) {
            break;
        }
        if (*p == ':') {
            p++;
        }
    }
    if (n < need || *p) {
        error_setg(errp, "labdma: %s: cannot parse '%s'", name, value);
        return false;
    }
    return true;
}

/* Parse @value for fault @name; its first number names the channel. */
static LabDmaChannel *labdma_fault_target(LabDmaState *s, const char *name,
                                          const char *value, uint64_t *vals,
                                          unsigned need, unsigned max,
                                          Error **errp)
{
    if (!labdma_parse_fault(name, value, vals, need, max, errp)) {
        return NULL;
    }
    if (vals[0] >= s->channels) {
        error_setg(errp, "labdma: %s: no channel %" PRIu64 " (the device has"
                   " %u)", name, vals[0], s->channels);
        return NULL;
    }
    return &s->ch[vals[0]];
}

static void labdma_set_fault_fail(Object *obj, const char *value,
                                  Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[3] = { 0, 0, LABDMA_ERR_INJECTED };
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-fail", value, v, 1, 3, errp);
    if (!ch) {
        return;
    }
    if (v[1] > INT32_MAX || v[2] < 1 || v[2] > LABDMA_ERR_MAX) {
        error_setg(errp, "labdma: fault-fail: index must be below 2^31 and"
                   " the error code 1..%u", LABDMA_ERR_MAX);
        return;
    }
    ch->fail_after = v[1];
    ch->fail_code = v[2];
}

static void labdma_set_fault_hang(Object *obj, const char *value,
                                  Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[1];
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-hang", value, v, 1, 1, errp);
    if (!ch) {
        return;
    }
    ch->hang = true;
    ch->hang_seen = false;
}

static void labdma_set_fault_drop_irq(Object *obj, const char *value,
                                      Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[2] = { 0, 1 };
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-drop-irq", value, v, 1, 2, errp);
    if (!ch) {
        return;
    }
    if (v[1] > UINT32_MAX) {
        error_setg(errp, "labdma: fault-drop-irq: count above 2^32-1");
        return;
    }
    ch->drop_irqs = v[1];
}

static void labdma_set_fault_corrupt(Object *obj, const char *value,
                                     Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[1];
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-corrupt", value, v, 1, 1, errp);
    if (!ch) {
        return;
    }
    ch->corrupt = true;
}

static void labdma_set_fault_delay(Object *obj, const char *value,
                                   Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    uint64_t v[2];
    LabDmaChannel *ch;

    ch = labdma_fault_target(s, "fault-delay", value, v, 2, 2, errp);
    if (!ch) {
        return;
    }
    if (v[1] > 60 * NANOSECONDS_PER_SECOND) {
        error_setg(errp, "labdma: fault-delay: at most 60 s");
        return;
    }
    ch->delay_ns = v[1];
}

static void labdma_set_fault_spurious_irq(Object *obj, const char *value,
                                          Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    PCIDevice *pdev = PCI_DEVICE(s);
    uint64_t v[1] = { 0 };

    if (!labdma_parse_fault("fault-spurious-irq", value, v, 0, 1, errp)) {
        return;
    }
    if (msix_enabled(pdev)) {
        if (v[0] >= labdma_msix_vectors(s)) {
            error_setg(errp, "labdma: fault-spurious-irq: no MSI-X vector %"
                       PRIu64, v[0]);
            return;
        }
        msix_notify(pdev, v[0]);
    } else if (msi_enabled(pdev)) {
        msi_notify(pdev, 0);
    } else {
        s->spurious_intx = true;
        labdma_update_irq(s, 0);
    }
    s->faults_injected++;
    trace_labdma_fault("spurious-irq", v[0]);
}

/* Reading a fault property shows what is armed, channel by channel. */
static char *labdma_get_faults(Object *obj, Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);
    GString *str = g_string_new("");
    unsigned c;

    for (c = 0; c < s->channels; c++) {
        LabDmaChannel *ch = &s->ch[c];

        if (ch->fail_after >= 0) {
            g_string_append_printf(str, "fail=%u:%d:%u ", c, ch->fail_after,
                                   ch->fail_code);
        }
        if (ch->hang) {
            g_string_append_printf(str, "hang=%u ", c);
        }
        if (ch->drop_irqs) {
            g_string_append_printf(str, "drop-irq=%u:%u ", c, ch->drop_irqs);
        }
        if (ch->corrupt) {
            g_string_append_printf(str, "corrupt=%u ", c);
        }
        if (ch->delay_ns) {
            g_string_append_printf(str, "delay=%u:%" PRIu64 " ", c,
                                   ch->delay_ns);
        }
    }
    if (str->len) {
        g_string_truncate(str, str->len - 1);
    }
    return g_string_free(str, false);
}

static void labdma_get_faults_injected(Object *obj, Visitor *v,
                                       const char *name, void *opaque,
                                       Error **errp)
{
    LabDmaState *s = LABDMA_BASE(obj);

    visit_type_uint64(v, name, &s->faults_injected, errp);
}

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

static void labdma_init_channels(LabDmaState *s)
{
    unsigned c;

    for (c = 0; c < LABDMA_MAX_CHANNELS; c++) {
        LabDmaChannel *ch = &s->ch[c];

        ch->dev = s;
        ch->index = c;
        ch->bh = qemu_bh_new_guarded(labdma_ch_run, ch,
                                     &DEVICE(s)->mem_reentrancy_guard);
        ch->pace_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                      labdma_ch_pace_timeout, ch);
        ch->coal_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL,
                                      labdma_ch_coal_timeout, ch);
    }
}

static void labdma_free_channels(LabDmaState *s)
{
    unsigned c;

    for (c = 0; c < LABDMA_MAX_CHANNELS; c++) {
        LabDmaChannel *ch = &s->ch[c];

        g_clear_pointer(&ch->bh, qemu_bh_delete);
        g_clear_pointer(&ch->pace_timer, timer_free);
        g_clear_pointer(&ch->coal_timer, timer_free);
    }
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

static const VMStateDescription labdma_desc_vmstate = {
    .name = "labdma/desc",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_UINT64(src, LabDmaDesc),
        VMSTATE_UINT64(dst, LabDmaDesc),
        VMSTATE_UINT32(len, LabDmaDesc),
        VMSTATE_UINT16(op, LabDmaDesc),
        VMSTATE_UINT16(flags, LabDmaDesc),
        VMSTATE_END_OF_LIST()
    },
};

static const VMStateDescription labdma_channel_vmstate = {
    .name = "labdma/channel",
    .version_id = 1,
    .minimum_version_id = 1,
    .fields = (VMStateField[]) {
        VMSTATE_TIMER_PTR(pace_timer, LabDmaChannel),
        VMSTATE_TIMER_PTR(coal_timer, LabDmaChannel),
        VMSTATE_UINT64(ring_base, LabDmaChannel),
        VMSTATE_UINT32(ring_size, LabDmaChannel),
        VMSTATE_UINT32(tail, LabDmaChannel),
        VMSTATE_UINT32(head, LabDmaChannel),
        VMSTATE_UINT32(ctrl, LabDmaChannel),
        VMSTATE_UINT8(state, LabDmaChannel),
        VMSTATE_UINT8(error, LabDmaChannel),
        VMSTATE_BOOL(config_error, LabDmaChannel),
        VMSTATE_UINT32(err_index, LabDmaChannel),
        VMSTATE_UINT64(err_addr, LabDmaChannel),
        VMSTATE_UINT64(wb_addr, LabDmaChannel),
        VMSTATE_UINT64(bytes, LabDmaChannel),
        VMSTATE_UINT64(descs, LabDmaChannel),
        VMSTATE_UINT32(bytes_hi, LabDmaChannel),
        VMSTATE_UINT32(descs_hi, LabDmaChannel),
        VMSTATE_UINT32(vector, LabDmaChannel),
        VMSTATE_BOOL(cur_valid, LabDmaChannel),
        VMSTATE_BOOL(cur_delayed, LabDmaChannel),
        VMSTATE_INT64(cur_due, LabDmaChannel),
        VMSTATE_INT64(link_start, LabDmaChannel),
        VMSTATE_INT64(link_end, LabDmaChannel),
        VMSTATE_STRUCT(cur, LabDmaChannel, 1, labdma_desc_vmstate,
                       LabDmaDesc),
        VMSTATE_UINT32(coal_pending, LabDmaChannel),
        VMSTATE_BOOL(coal_expired, LabDmaChannel),
        VMSTATE_INT32(fail_after, LabDmaChannel),
        VMSTATE_UINT8(fail_code, LabDmaChannel),
        VMSTATE_BOOL(hang, LabDmaChannel),
        VMSTATE_BOOL(hang_seen, LabDmaChannel),
        VMSTATE_UINT32(drop_irqs, LabDmaChannel),
        VMSTATE_BOOL(corrupt, LabDmaChannel),
        VMSTATE_UINT64(delay_ns, LabDmaChannel),
        VMSTATE_END_OF_LIST()
    },
};

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

static void labdma_add_fault_property(ObjectClass *oc, const char *name,
                                      void (*set)(Object *, const char *,
                                                  Error **),
                                      const char *desc)
{
    object_class_property_add_str(oc, name, labdma_get_faults, set);
    object_class_property_set_description(oc, name, desc);
}

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

    labdma_add_fault_property(oc, "fault-fail", labdma_set_fault_fail,
        "CH:N[:CODE]: channel CH's N-th next descriptor halts it with CODE");
    labdma_add_fault_property(oc, "fault-hang", labdma_set_fault_hang,
        "CH: channel CH stops making progress until ABORT or a reset");
    labdma_add_fault_property(oc, "fault-drop-irq", labdma_set_fault_drop_irq,
        "CH[:N]: channel CH's next N completion interrupts are lost");
    labdma_add_fault_property(oc, "fault-corrupt", labdma_set_fault_corrupt,
        "CH: channel CH's next result is corrupted (first byte inverted)");
    labdma_add_fault_property(oc, "fault-delay", labdma_set_fault_delay,
        "CH:NS: channel CH's next descriptor completes NS later");
    labdma_add_fault_property(oc, "fault-spurious-irq",
                              labdma_set_fault_spurious_irq,
        "[VECTOR]: signal an interrupt no source asked for");
    object_class_property_add_str(oc, "faults-armed", labdma_get_faults,
                                  NULL);
    object_class_property_set_description(oc, "faults-armed",
        "the faults waiting to happen, e.g. \"fail=1:0:10 hang=2\"");
    object_class_property_add(oc, "faults-injected", "uint64",
                              labdma_get_faults_injected, NULL, NULL, NULL);
    object_class_property_set_description(oc, "faults-injected",
        "faults injected since the device was created");
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
