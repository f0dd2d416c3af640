/*
 * labdma: the channel engine (docs/labdma/datasheet.md 4-8, 10).
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
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/timer.h"
#include "exec/memory.h"
#include "hw/pci/pci.h"
#include "migration/vmstate.h"
#include "labdma.h"
#include "trace.h"

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
void labdma_ch_discard(LabDmaChannel *ch)
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

void labdma_ch_reset_all(LabDmaChannel *ch)
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

bool labdma_ring_config_ok(LabDmaChannel *ch)
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
void labdma_ch_kick(LabDmaChannel *ch)
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

uint32_t labdma_ch_read(LabDmaChannel *ch, hwaddr reg)
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

void labdma_ch_write(LabDmaChannel *ch, hwaddr reg, uint32_t val)
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

void labdma_init_channels(LabDmaState *s)
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

void labdma_free_channels(LabDmaState *s)
{
    unsigned c;

    for (c = 0; c < LABDMA_MAX_CHANNELS; c++) {
        LabDmaChannel *ch = &s->ch[c];

        g_clear_pointer(&ch->bh, qemu_bh_delete);
        g_clear_pointer(&ch->pace_timer, timer_free);
        g_clear_pointer(&ch->coal_timer, timer_free);
    }
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

const VMStateDescription labdma_channel_vmstate = {
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

