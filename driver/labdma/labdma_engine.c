// SPDX-License-Identifier: GPL-2.0
/*
 * labdma engine core: each channel's descriptor ring, the requests queued
 * on it, completion from the write-back word, and recovery.
 *
 * A request is split into descriptors of at most MAX_XFER bytes and fed to
 * the ring as slots free up, so a request may be larger than the ring.
 * Completion is read from the word the device writes HEAD to (never from
 * the HEAD register), by the channel's interrupt thread or, if that
 * interrupt is lost, by the watchdog.
 *
 * Recovery follows one rule: memory a request points at is released (its
 * done() called) only once the device can no longer touch it -- the
 * channel read back IDLE or HALTED after the write that stopped it
 * (datasheet 4, "Guarantee for drivers"), or bus mastering is off.  A
 * channel that does not stop within LABDMA_ABORT_WAIT_US is handed to the
 * glue (ld->cut_off), which takes the device off the bus and resets it.
 */

#include <linux/bitfield.h>
#include <linux/crc32.h>
#include <linux/dma-mapping.h>
#include <linux/iopoll.h>
#include <linux/jiffies.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "labdma_drv.h"
#include "labdma_trace.h"

static unsigned int labdma_ring_space(struct labdma_chan *ch)
{
	return (ch->head - ch->tail - 1) & (ch->ld->ring_entries - 1);
}

static bool labdma_req_in_place(const struct labdma_req *req)
{
	return (req->op == LABDMA_OP_MUL2 || req->op == LABDMA_OP_MUL4) &&
	       req->nsegs && req->segs[0].src == req->segs[0].dst;
}

int labdma_chan_init(struct labdma_dev *ld, unsigned int index)
{
	struct labdma_chan *ch = &ld->chan[index];
	size_t ring_bytes = ld->ring_entries * sizeof(struct labdma_desc);

	ch->ld = ld;
	ch->index = index;
	ch->regs = ld->regs + LABDMA_CH_BASE(index);
	ch->state = LABDMA_CHAN_OFF;

	/* the write-back word lives in the 64 bytes after the ring */
	ch->ring = dmam_alloc_coherent(ld->dma_dev, ring_bytes + 64,
				       &ch->ring_dma, GFP_KERNEL);
	if (!ch->ring)
		return -ENOMEM;
	ch->wb = (__le32 *)((u8 *)ch->ring + ring_bytes);
	ch->wb_dma = ch->ring_dma + ring_bytes;
	ch->slots = devm_kcalloc(ld->dma_dev, ld->ring_entries,
				 sizeof(*ch->slots), GFP_KERNEL);
	if (!ch->slots)
		return -ENOMEM;
	return 0;
}

static u32 labdma_ch_ctrl_run(struct labdma_chan *ch)
{
	struct labdma_dev *ld = ch->ld;

	return LABDMA_CH_CTRL_RUN | LABDMA_CH_CTRL_IRQ_EN |
	       FIELD_PREP(LABDMA_CH_CTRL_COAL_COUNT,
			  READ_ONCE(ld->coalesce_count)) |
	       FIELD_PREP(LABDMA_CH_CTRL_COAL_USECS,
			  READ_ONCE(ld->coalesce_usecs));
}

/* Every request still queued starts again from its first unfinished piece. */
static void labdma_requeue(struct labdma_chan *ch)
{
	struct labdma_req *req;

	list_for_each_entry(req, &ch->queue, node) {
		req->fed_seg = req->done_seg;
		req->fed_off = req->done_off;
		req->fed_pos = req->bytes;
		req->on_ring = 0;
		req->fed_all = false;
	}
	ch->feed = list_first_entry_or_null(&ch->queue, struct labdma_req,
					    node);
}

static void labdma_feed(struct labdma_chan *ch);

/*
 * The channel is stopped (reset or never started): program the ring from
 * slot 0 and run it.  Called with ch->lock held.
 */
static void labdma_chan_program(struct labdma_chan *ch, bool full)
{
	struct labdma_dev *ld = ch->ld;

	labdma_ch_wr(ch, LABDMA_CH_CTRL, LABDMA_CH_CTRL_RESET);
	if (full) {
		labdma_ch_wr(ch, LABDMA_CH_RING_LO, lower_32_bits(ch->ring_dma));
		labdma_ch_wr(ch, LABDMA_CH_RING_HI, upper_32_bits(ch->ring_dma));
		labdma_ch_wr(ch, LABDMA_CH_RING_SIZE, ld->ring_entries);
		labdma_ch_wr(ch, LABDMA_CH_WB_LO, lower_32_bits(ch->wb_dma));
		labdma_ch_wr(ch, LABDMA_CH_WB_HI, upper_32_bits(ch->wb_dma));
		if (ld->irq_mode == LABDMA_IRQ_MODE_MSIX)
			labdma_ch_wr(ch, LABDMA_CH_VECTOR, ch->vector);
	}
	WRITE_ONCE(*ch->wb, 0);
	memset(ch->slots, 0, ld->ring_entries * sizeof(*ch->slots));
	ch->head = 0;
	ch->tail = 0;
	labdma_requeue(ch);
	ch->state = LABDMA_CHAN_RUNNING;
	labdma_ch_wr(ch, LABDMA_CH_CTRL, labdma_ch_ctrl_run(ch));
	labdma_feed(ch);
}

/* Probe, resume, after a device reset: the channel's registers are blank. */
void labdma_chan_start(struct labdma_chan *ch)
{
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->state != LABDMA_CHAN_DEAD)
		labdma_chan_program(ch, true);
	spin_unlock_irqrestore(&ch->lock, flags);
}

static void labdma_watchdog_arm(struct labdma_chan *ch)
{
	if (!list_empty(&ch->queue))
		queue_delayed_work(system_wq, &ch->watchdog,
				   msecs_to_jiffies(READ_ONCE(ch->ld->lost_irq_ms)));
}

/* Put as many pieces on the ring as fit.  Called with ch->lock held. */
static void labdma_feed(struct labdma_chan *ch)
{
	struct labdma_dev *ld = ch->ld;
	struct labdma_desc *d = NULL;
	unsigned int written = 0;

	if (ch->state != LABDMA_CHAN_RUNNING)
		return;
	while (ch->feed && labdma_ring_space(ch)) {
		struct labdma_req *req = ch->feed;
		const struct labdma_seg *seg = NULL;
		u64 src = 0, dst = 0;
		u32 len = 0;
		u16 flags = 0;

		if (req->nsegs) {
			seg = &req->segs[req->fed_seg];
			len = min(seg->len - req->fed_off, ld->max_xfer);
			src = seg->src + req->fed_off;
			dst = seg->dst + req->fed_off;
		}
		if (req->op == LABDMA_OP_FILL) {
			/* keep the pattern's phase across pieces */
			src = ror32(req->pattern, 8 * (req->fed_pos & 3));
		} else if (req->op == LABDMA_OP_CRC32C) {
			dst = 0;
		}

		req->fed_pos += len;
		if (seg) {
			req->fed_off += len;
			if (req->fed_off == seg->len) {
				req->fed_seg++;
				req->fed_off = 0;
			}
		}
		if (req->fed_seg == req->nsegs) {
			req->fed_all = true;
			flags |= LABDMA_DESC_IRQ;
			ch->feed = list_is_last(&req->node, &ch->queue) ? NULL :
				   list_next_entry(req, node);
		}

		if (dst && atomic_dec_if_positive(&ld->inject_bad_dst) >= 0)
			dst = ld->bad_dma_addr;
		d = &ch->ring[ch->tail];
		d->src = cpu_to_le64(src);
		d->dst = cpu_to_le64(dst);
		d->len = cpu_to_le32(len);
		d->op = cpu_to_le16(req->op);
		d->flags = cpu_to_le16(flags);
		d->status = 0;
		d->result = 0;
		ch->slots[ch->tail].req = req;
		ch->slots[ch->tail].len = len;
		req->on_ring++;
		ch->tail = (ch->tail + 1) & (ld->ring_entries - 1);
		written++;
	}
	if (!written)
		return;
	/* a full ring must still tell us when it has room again */
	d->flags |= cpu_to_le16(LABDMA_DESC_IRQ);
	/* writel() orders the descriptors before the doorbell */
	labdma_ch_wr(ch, LABDMA_CH_TAIL, ch->tail);
	trace_labdma_doorbell(ld->index, ch->index, ch->tail, written);
	labdma_watchdog_arm(ch);
}

/* Take @req off the queue with @status; done() is called by the caller. */
static void labdma_finish(struct labdma_chan *ch, struct labdma_req *req,
			  int status, struct list_head *done)
{
	if (ch->feed == req)
		ch->feed = list_is_last(&req->node, &ch->queue) ? NULL :
			   list_next_entry(req, node);
	req->status = status;
	list_move_tail(&req->node, done);
}

/*
 * Collect what the device has written back.  Called with ch->lock held;
 * returns the number of descriptors reaped.
 */
static unsigned int labdma_reap(struct labdma_chan *ch, struct list_head *done)
{
	struct labdma_dev *ld = ch->ld;
	unsigned int wb_head, n = 0;
	u64 bytes = 0;

	wb_head = le32_to_cpu(READ_ONCE(*ch->wb));
	if (wb_head >= ld->ring_entries) {
		dev_warn_ratelimited(&ld->dev,
				     "channel %u: write-back index %u out of range\n",
				     ch->index, wb_head);
		return 0;
	}
	/* the descriptors' status before the HEAD that passed them */
	dma_rmb();
	while (ch->head != wb_head) {
		struct labdma_slot *slot = &ch->slots[ch->head];
		struct labdma_desc *d = &ch->ring[ch->head];
		struct labdma_req *req = slot->req;
		u32 status = le32_to_cpu(d->status);

		if (!req)	/* no piece of ours: the device is confused */
			break;
		slot->req = NULL;
		ch->head = (ch->head + 1) & (ld->ring_entries - 1);
		n++;
		req->on_ring--;
		if (!(status & LABDMA_DESC_DONE) ||
		    (status & LABDMA_DESC_CODE)) {
			/* HEAD passed a descriptor that did not succeed */
			req->hw_error = status & LABDMA_DESC_CODE;
			req->status = -EIO;
		} else if (req->op == LABDMA_OP_CRC32C) {
			req->result = req->bytes ?
				__crc32c_le_combine(req->result,
						    le32_to_cpu(d->result),
						    slot->len) :
				le32_to_cpu(d->result);
		}
		req->bytes += slot->len;
		bytes += slot->len;
		if (req->nsegs) {
			req->done_off += slot->len;
			if (req->done_off == req->segs[req->done_seg].len) {
				req->done_seg++;
				req->done_off = 0;
			}
		}
		if (req->fed_all && !req->on_ring)
			labdma_finish(ch, req, req->status, done);
	}
	if (n) {
		atomic64_add(n, &ld->stats.descs);
		atomic64_add(bytes, &ld->stats.bytes);
	}
	return n;
}

/* Call done() of every request on @done; no core lock may be held. */
void labdma_complete(struct list_head *done)
{
	struct labdma_req *req, *tmp;

	list_for_each_entry_safe(req, tmp, done, node) {
		struct labdma_chan *ch = req->ch;

		list_del_init(&req->node);
		if (req->status == -EIO)
			atomic64_inc(&ch->ld->stats.errors);
		else if (req->status == -ETIMEDOUT)
			atomic64_inc(&ch->ld->stats.timeouts);
		trace_labdma_complete(ch->ld->index, ch->index, req->op,
				      req->bytes, req->status, req->hw_error);
		req->done(req);
	}
}

static const char *const labdma_err_names[] = {
	[LABDMA_ERR_BAD_LEN] = "BAD_LEN",
	[LABDMA_ERR_BAD_OP] = "BAD_OP",
	[LABDMA_ERR_BAD_ALIGN] = "BAD_ALIGN",
	[LABDMA_ERR_DESC_READ] = "DESC_READ",
	[LABDMA_ERR_SRC_READ] = "SRC_READ",
	[LABDMA_ERR_DST_WRITE] = "DST_WRITE",
	[LABDMA_ERR_WB_WRITE] = "WB_WRITE",
	[LABDMA_ERR_RING_CONFIG] = "RING_CONFIG",
	[LABDMA_ERR_ABORTED] = "ABORTED",
	[LABDMA_ERR_INJECTED] = "INJECTED",
};

static const char *labdma_err_name(u8 code)
{
	if (code < ARRAY_SIZE(labdma_err_names) && labdma_err_names[code])
		return labdma_err_names[code];
	return "unknown";
}

/*
 * Stop the channel and wait until the device has read back IDLE or HALTED:
 * from then on it touches none of the ring's memory.  Called with
 * ch->service held, not ch->lock.  Returns -ETIMEDOUT if it did not stop.
 */
static int labdma_chan_halt(struct labdma_chan *ch)
{
	u32 st;

	labdma_ch_wr(ch, LABDMA_CH_CTRL, LABDMA_CH_CTRL_ABORT);
	return readl_poll_timeout(ch->regs + LABDMA_CH_STATUS, st,
				  FIELD_GET(LABDMA_CH_STATE, st) ==
				  LABDMA_CH_STATE_IDLE ||
				  FIELD_GET(LABDMA_CH_STATE, st) ==
				  LABDMA_CH_STATE_HALTED,
				  10, LABDMA_ABORT_WAIT_US);
}

/*
 * The channel did not stop: the glue takes the device off the bus (so the
 * memory may be released) and recovers it; everything queued fails.
 */
static void labdma_chan_lost(struct labdma_chan *ch, struct list_head *done)
{
	struct labdma_dev *ld = ch->ld;
	struct labdma_req *req, *tmp;
	unsigned long flags;

	dev_err(&ld->dev,
		"channel %u does not stop (status 0x%08x); taking the device off the bus\n",
		ch->index, labdma_ch_rd(ch, LABDMA_CH_STATUS));
	labdma_mark_broken(ld);
	spin_lock_irqsave(&ch->lock, flags);
	list_for_each_entry_safe(req, tmp, &ch->queue, node)
		labdma_finish(ch, req, -EIO, done);
	ch->state = LABDMA_CHAN_OFF;
	spin_unlock_irqrestore(&ch->lock, flags);
}

/*
 * After a stop: a channel HALTED with an error (or with ABORTED that we did
 * not ask for: it was halted before our ABORT) fails the request whose
 * descriptor it names, with the device's code.  Called with ch->lock held.
 */
static void labdma_fail_owner(struct labdma_chan *ch, u32 st,
			      bool halted_before, struct list_head *done)
{
	u8 code = FIELD_GET(LABDMA_CH_ERR_CODE, st);
	struct labdma_req *owner;
	u32 index;

	if (FIELD_GET(LABDMA_CH_STATE, st) != LABDMA_CH_STATE_HALTED ||
	    (code == LABDMA_ERR_ABORTED && !halted_before))
		return;
	index = labdma_ch_rd(ch, LABDMA_CH_ERR_INDEX);
	owner = index < ch->ld->ring_entries ? ch->slots[index].req : NULL;
	if (owner && !list_empty(&owner->node)) {
		owner->hw_error = code;
		labdma_finish(ch, owner, -EIO, done);
	}
}

/*
 * Stop the channel, collect what finished, fail the requests @fail selects
 * (with their own error), and restart the ring with the others.  In-place
 * MUL2/MUL4 pieces that were on the ring cannot run twice: they fail with
 * -ECANCELED.  Called with ch->service held.
 */
static void labdma_chan_recover(struct labdma_chan *ch,
				bool (*fail)(struct labdma_req *req, int *err),
				struct list_head *done)
{
	struct labdma_dev *ld = ch->ld;
	struct labdma_req *req, *tmp;
	unsigned long flags;
	bool halted;
	u32 st;

	spin_lock_irqsave(&ch->lock, flags);
	if (ch->state != LABDMA_CHAN_RUNNING) {
		spin_unlock_irqrestore(&ch->lock, flags);
		return;
	}
	ch->state = LABDMA_CHAN_RECOVERING;
	spin_unlock_irqrestore(&ch->lock, flags);

	/* halted on its own: whatever the code, it is the device's error */
	st = labdma_ch_rd(ch, LABDMA_CH_STATUS);
	halted = FIELD_GET(LABDMA_CH_STATE, st) == LABDMA_CH_STATE_HALTED;
	if (!halted) {
		if (labdma_chan_halt(ch)) {
			labdma_chan_lost(ch, done);
			return;
		}
		st = labdma_ch_rd(ch, LABDMA_CH_STATUS);
	}

	spin_lock_irqsave(&ch->lock, flags);
	labdma_reap(ch, done);
	labdma_fail_owner(ch, st, halted, done);
	list_for_each_entry_safe(req, tmp, &ch->queue, node) {
		int err = 0;

		if (fail && fail(req, &err))
			labdma_finish(ch, req, err, done);
		else if (req->on_ring && labdma_req_in_place(req))
			labdma_finish(ch, req, -ECANCELED, done);
	}
	atomic64_inc(&ld->stats.channel_resets);
	labdma_chan_program(ch, false);
	spin_unlock_irqrestore(&ch->lock, flags);
	trace_labdma_chan_reset(ld->index, ch->index, st);
}

static bool labdma_req_expired(struct labdma_req *req, int *err)
{
	if (req->cancel_err) {
		*err = req->cancel_err;
		return true;
	}
	if (time_after_eq(jiffies, req->deadline)) {
		*err = -ETIMEDOUT;
		return true;
	}
	return false;
}

/*
 * Reap the channel, handle a halt, fail what is past its deadline or
 * cancelled, and feed the ring.  IRQ thread and watchdog.
 */
void labdma_chan_service(struct labdma_chan *ch, bool from_irq)
{
	struct labdma_dev *ld = ch->ld;
	struct labdma_req *req, *tmp;
	bool expired = false, halted = false;
	unsigned long flags;
	LIST_HEAD(done);
	unsigned int n;
	u32 st;

	down_read(&ld->reset_sem);
	mutex_lock(&ch->service);
	spin_lock_irqsave(&ch->lock, flags);
	if (ch->state == LABDMA_CHAN_OFF) {
		/* stopped, or off the bus: nothing touches their memory */
		list_for_each_entry_safe(req, tmp, &ch->queue, node) {
			int err;

			if (labdma_req_expired(req, &err))
				labdma_finish(ch, req, err, &done);
		}
		labdma_watchdog_arm(ch);
	}
	if (ch->state != LABDMA_CHAN_RUNNING) {
		spin_unlock_irqrestore(&ch->lock, flags);
		goto out;
	}
	n = labdma_reap(ch, &done);
	if (from_irq) {
		ch->irq_seen = true;
	} else {
		if (n && !ch->irq_seen)
			atomic64_inc(&ld->stats.lost_irqs);
		ch->irq_seen = false;
	}
	list_for_each_entry_safe(req, tmp, &ch->queue, node) {
		int err;

		if (!labdma_req_expired(req, &err))
			continue;
		if (req->on_ring)
			expired = true;
		else
			labdma_finish(ch, req, err, &done);
	}
	spin_unlock_irqrestore(&ch->lock, flags);

	if (!expired) {
		st = labdma_ch_rd(ch, LABDMA_CH_STATUS);
		if (st != ~0U && FIELD_GET(LABDMA_CH_STATE, st) ==
		    LABDMA_CH_STATE_HALTED) {
			dev_warn_ratelimited(&ld->dev,
					     "channel %u halted: error 0x%02x (%s) at descriptor %u, address 0x%08x%08x\n",
					     ch->index,
					     (u32)FIELD_GET(LABDMA_CH_ERR_CODE, st),
					     labdma_err_name(FIELD_GET(LABDMA_CH_ERR_CODE, st)),
					     labdma_ch_rd(ch, LABDMA_CH_ERR_INDEX),
					     labdma_ch_rd(ch, LABDMA_CH_ERR_ADDR_HI),
					     labdma_ch_rd(ch, LABDMA_CH_ERR_ADDR_LO));
			halted = true;
		}
	}
	if (expired || halted) {
		if (expired)
			dev_warn_ratelimited(&ld->dev,
					     "channel %u: operation timed out or cancelled; aborting the channel\n",
					     ch->index);
		labdma_chan_recover(ch, labdma_req_expired, &done);
	}

	spin_lock_irqsave(&ch->lock, flags);
	labdma_feed(ch);
	labdma_watchdog_arm(ch);
	spin_unlock_irqrestore(&ch->lock, flags);
out:
	mutex_unlock(&ch->service);
	up_read(&ld->reset_sem);
	labdma_complete(&done);
}

/* LABDMA_IOC_RESET of one channel: what is queued runs again after it. */
int labdma_chan_reset(struct labdma_chan *ch)
{
	struct labdma_dev *ld = ch->ld;
	LIST_HEAD(done);
	int ret = 0;

	down_read(&ld->reset_sem);
	mutex_lock(&ch->service);
	if (READ_ONCE(ch->state) == LABDMA_CHAN_RUNNING)
		labdma_chan_recover(ch, NULL, &done);
	else
		ret = -EIO;
	mutex_unlock(&ch->service);
	up_read(&ld->reset_sem);
	labdma_complete(&done);
	return ret;
}

/*
 * Whole-device reset, suspend, remove: stop the channel (ABORT, then wait
 * for IDLE or HALTED) and move what finished to @done, for the caller to
 * complete once it holds no lock; queued requests stay for
 * labdma_chan_start() or labdma_chan_fail_all().  Called with
 * ld->reset_sem held for writing, or on a device the gate has closed.
 */
void labdma_chan_stop(struct labdma_chan *ch, struct list_head *done)
{
	unsigned long flags;
	bool running;

	mutex_lock(&ch->service);
	spin_lock_irqsave(&ch->lock, flags);
	running = ch->state == LABDMA_CHAN_RUNNING;
	if (running)
		ch->state = LABDMA_CHAN_RECOVERING;
	spin_unlock_irqrestore(&ch->lock, flags);
	if (running) {
		u32 st = labdma_ch_rd(ch, LABDMA_CH_STATUS);
		bool halted = FIELD_GET(LABDMA_CH_STATE, st) ==
			      LABDMA_CH_STATE_HALTED;

		if (!halted && labdma_chan_halt(ch)) {
			labdma_chan_lost(ch, done);
		} else {
			struct labdma_req *req, *tmp;

			if (!halted)
				st = labdma_ch_rd(ch, LABDMA_CH_STATUS);
			spin_lock_irqsave(&ch->lock, flags);
			labdma_reap(ch, done);
			labdma_fail_owner(ch, st, halted, done);
			list_for_each_entry_safe(req, tmp, &ch->queue, node)
				if (req->on_ring && labdma_req_in_place(req))
					labdma_finish(ch, req, -ECANCELED,
						      done);
			ch->state = LABDMA_CHAN_OFF;
			spin_unlock_irqrestore(&ch->lock, flags);
		}
	}
	mutex_unlock(&ch->service);
}

/* Remove or a broken device: every request ends with @err. */
void labdma_chan_fail_all(struct labdma_chan *ch, int err)
{
	struct labdma_req *req, *tmp;
	unsigned long flags;
	LIST_HEAD(done);

	mutex_lock(&ch->service);
	spin_lock_irqsave(&ch->lock, flags);
	if (err == -ENODEV)
		ch->state = LABDMA_CHAN_DEAD;
	else if (ch->state != LABDMA_CHAN_DEAD)
		ch->state = LABDMA_CHAN_OFF;
	list_for_each_entry_safe(req, tmp, &ch->queue, node)
		labdma_finish(ch, req, err, &done);
	spin_unlock_irqrestore(&ch->lock, flags);
	mutex_unlock(&ch->service);
	labdma_complete(&done);
	if (err == -ENODEV)
		cancel_delayed_work_sync(&ch->watchdog);
}

int labdma_op_check(struct labdma_dev *ld, u32 op, u64 len)
{
	if (op >= LABDMA_OP_COUNT || !(ld->ops_mask & BIT(op)))
		return -EOPNOTSUPP;
	if (op == LABDMA_OP_NOP ? len != 0 : len == 0)
		return -EINVAL;
	if ((op == LABDMA_OP_MUL2 || op == LABDMA_OP_MUL4) && (len & 3))
		return -EINVAL;
	return 0;
}

/*
 * Queue @req on @ch; any context.  @req->done is called exactly once,
 * unless this returns an error (then it is not called at all).
 */
int labdma_submit(struct labdma_chan *ch, struct labdma_req *req)
{
	struct labdma_dev *ld = ch->ld;
	unsigned int nsegs, timeout_ms;
	unsigned long flags;
	int ret = 0;
	u16 op;

	req->ch = ch;
	req->status = 0;
	req->hw_error = 0;
	req->bytes = 0;
	req->result = 0;
	req->cancel_err = 0;
	req->fed_seg = 0;
	req->fed_off = 0;
	req->fed_pos = 0;
	req->done_seg = 0;
	req->done_off = 0;
	req->on_ring = 0;
	req->fed_all = false;
	req->deadline = jiffies + msecs_to_jiffies(req->timeout_ms);

	op = req->op;
	nsegs = req->nsegs;
	timeout_ms = req->timeout_ms;
	spin_lock_irqsave(&ch->lock, flags);
	if (ch->state == LABDMA_CHAN_DEAD) {
		ret = -ENODEV;
	} else if (ch->state == LABDMA_CHAN_OFF && READ_ONCE(ld->broken)) {
		ret = -EIO;
	} else {
		list_add_tail(&req->node, &ch->queue);
		if (!ch->feed)
			ch->feed = req;
		labdma_feed(ch);
		labdma_watchdog_arm(ch);
	}
	spin_unlock_irqrestore(&ch->lock, flags);
	if (!ret) {
		atomic64_inc(&ld->stats.submits);
		/* @req may be complete, even freed, by now */
		trace_labdma_submit(ld->index, ch->index, op, nsegs, timeout_ms);
	}
	return ret;
}

/*
 * End @req early with @err: at once if it is not on the ring, else by
 * stopping the channel from the watchdog.  done() still runs exactly once.
 */
void labdma_req_cancel(struct labdma_req *req, int err)
{
	struct labdma_chan *ch = req->ch;
	unsigned long flags;

	spin_lock_irqsave(&ch->lock, flags);
	if (!list_empty(&req->node) && !req->cancel_err) {
		req->cancel_err = err;
		/* queued: fail_all() has not run its final cancel yet */
		mod_delayed_work(system_wq, &ch->watchdog, 0);
	}
	spin_unlock_irqrestore(&ch->lock, flags);
}

void labdma_chan_dump(struct labdma_chan *ch, struct seq_file *s)
{
	static const char *const states[] = { "off", "running", "recovering",
					      "dead" };
	struct labdma_req *req;
	unsigned long flags;
	unsigned int queued = 0;

	spin_lock_irqsave(&ch->lock, flags);
	list_for_each_entry(req, &ch->queue, node)
		queued++;
	seq_printf(s, "channel %u: %s, head %u, tail %u, write-back %u, %u request(s) queued, vector %u\n",
		   ch->index, states[ch->state], ch->head, ch->tail,
		   le32_to_cpu(READ_ONCE(*ch->wb)), queued, ch->vector);
	list_for_each_entry(req, &ch->queue, node)
		seq_printf(s, "  op %u, %u segment(s), %llu byte(s) done, %u on the ring, %d ms left\n",
			   req->op, req->nsegs, req->bytes, req->on_ring,
			   jiffies_to_msecs(max_t(long, 0,
						  (long)(req->deadline - jiffies))));
	spin_unlock_irqrestore(&ch->lock, flags);
}

static void labdma_watchdog(struct work_struct *work)
{
	struct labdma_chan *ch = container_of(to_delayed_work(work),
					      struct labdma_chan, watchdog);

	labdma_chan_service(ch, false);
}

void labdma_chan_early_init(struct labdma_chan *ch)
{
	spin_lock_init(&ch->lock);
	mutex_init(&ch->service);
	INIT_DELAYED_WORK(&ch->watchdog, labdma_watchdog);
	INIT_LIST_HEAD(&ch->queue);
}
