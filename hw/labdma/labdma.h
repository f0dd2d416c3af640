/*
 * labdma: the lab's PCIe DMA engine (docs/labdma/datasheet.md), the parts
 * its files share: registers, descriptor format, device and channel state.
 *
 * labdma.c          PCI function: identity, BARs, capabilities, global
 *                   registers, interrupt delivery, resets, SR-IOV,
 *                   migration, the QOM types
 * labdma-channel.c  the engine: rings, descriptors, operations, timing
 *                   model, coalescing, channel registers
 * labdma-fault.c    fault injection over QOM properties (QMP qom-set)
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef HW_LABDMA_LABDMA_H
#define HW_LABDMA_LABDMA_H

#include "hw/pci/pci.h"
#include "qemu/units.h"
#include "qom/object.h"

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

/* labdma.c */
const LabDmaVariant *labdma_variant(LabDmaState *s);
unsigned labdma_msix_vectors(LabDmaState *s);
void labdma_update_irq(LabDmaState *s, uint32_t fire);
void labdma_raise(LabDmaState *s, uint32_t bits);

/* labdma-channel.c */
void labdma_init_channels(LabDmaState *s);
void labdma_free_channels(LabDmaState *s);
void labdma_ch_kick(LabDmaChannel *ch);
void labdma_ch_discard(LabDmaChannel *ch);
void labdma_ch_reset_all(LabDmaChannel *ch);
bool labdma_ring_config_ok(LabDmaChannel *ch);
uint32_t labdma_ch_read(LabDmaChannel *ch, hwaddr reg);
void labdma_ch_write(LabDmaChannel *ch, hwaddr reg, uint32_t val);
extern const VMStateDescription labdma_channel_vmstate;

/* labdma-fault.c */
void labdma_fault_class_init(ObjectClass *oc);

#endif
