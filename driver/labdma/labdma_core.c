// SPDX-License-Identifier: GPL-2.0
/*
 * labdma device core: identification, the gate between operations and
 * remove/suspend/resets, interrupt handling, DOINT, the register window
 * offered to user space, whole-device resets and statistics.  It knows
 * neither files nor PCI.
 */

#include <linux/bitfield.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>

#include "labdma_drv.h"

#define CREATE_TRACE_POINTS
#include "labdma_trace.h"

void labdma_dev_init(struct labdma_dev *ld)
{
	unsigned int c;

	spin_lock_init(&ld->state_lock);
	init_waitqueue_head(&ld->state_wq);
	init_rwsem(&ld->reset_sem);
	spin_lock_init(&ld->reg_lock);
	spin_lock_init(&ld->test_lock);
	init_waitqueue_head(&ld->test_wq);
	mutex_init(&ld->files_lock);
	INIT_LIST_HEAD(&ld->files);
	for (c = 0; c < LABDMA_MAX_CHANNELS; c++)
		labdma_chan_early_init(&ld->chan[c]);
}

/*
 * Is this the device the ID table promised?  The capability registers, not
 * the PCI ID, say what it can do; a disagreement between the two is a
 * probe error (datasheet 1).  After a reset the device must be the same
 * one as before.
 */
int labdma_identify(struct labdma_dev *ld, bool quiet)
{
	const struct labdma_variant *v = ld->variant;
	struct device *dev = ld->dma_dev;
	u32 id = labdma_rd(ld, LABDMA_REG_ID);
	u32 version = labdma_rd(ld, LABDMA_REG_VERSION);
	u32 cap = labdma_rd(ld, LABDMA_REG_CAP);
	u32 max_xfer = labdma_rd(ld, LABDMA_REG_MAX_XFER);
	unsigned int channels = FIELD_GET(LABDMA_CAP_CHANNELS, cap);
	u32 ops = FIELD_GET(LABDMA_CAP_OPS, cap);
	bool msix = cap & LABDMA_CAP_MSIX;

	if (id != LABDMA_ID_VALUE) {
		if (!quiet)
			dev_err(dev, "ID register reads 0x%08x, not 0x%08x: not a labdma\n",
				id, LABDMA_ID_VALUE);
		return -ENODEV;
	}
	if (LABDMA_VERSION_MAJOR(version) != LABDMA_KNOWN_MAJOR) {
		dev_err(dev, "device version %u.%u; this driver supports major version %u\n",
			LABDMA_VERSION_MAJOR(version), version & 0xffff,
			LABDMA_KNOWN_MAJOR);
		return -ENODEV;
	}
	if (channels < v->min_channels || channels > v->max_channels ||
	    ops != v->ops_mask || msix != v->msix || max_xfer != v->max_xfer ||
	    max_xfer < 4096) {
		dev_err(dev,
			"the PCI ID says %s (%u..%u channels, operations 0x%02x, %s, MAX_XFER %u) but CAP reads 0x%08x (%u channels, operations 0x%02x, %s) and MAX_XFER %u\n",
			v->name, v->min_channels, v->max_channels, v->ops_mask,
			v->msix ? "MSI-X" : "no MSI-X", v->max_xfer, cap,
			channels, ops, msix ? "MSI-X" : "no MSI-X", max_xfer);
		return -ENODEV;
	}
	if (ld->nr_channels && (channels != ld->nr_channels ||
				cap != ld->cap)) {
		dev_err(dev, "CAP changed from 0x%08x to 0x%08x\n", ld->cap,
			cap);
		return -ENODEV;
	}
	ld->hw_version = version;
	ld->cap = cap;
	ld->max_xfer = max_xfer;
	ld->ops_mask = ops;
	ld->nr_channels = channels;
	return 0;
}

/* After probe, resume or a reset: enable the device and start every ring. */
void labdma_hw_start(struct labdma_dev *ld)
{
	unsigned int c;

	ld->unmasked = GENMASK(ld->nr_channels - 1, 0) | LABDMA_INT_ERROR |
		       LABDMA_INT_TESTS;
	labdma_wr(ld, LABDMA_REG_CTRL, LABDMA_CTRL_ENABLE);
	labdma_wr(ld, LABDMA_REG_INT_MASK_CLEAR, ld->unmasked);
	for (c = 0; c < ld->nr_channels; c++)
		labdma_chan_start(&ld->chan[c]);
}

/*
 * Stop every channel and mask every source.  What is queued stays queued
 * (labdma_hw_start() resumes it); the gate is closed.
 */
void labdma_hw_stop(struct labdma_dev *ld)
{
	unsigned int c;

	LIST_HEAD(done);

	down_write(&ld->reset_sem);
	for (c = 0; c < ld->nr_channels; c++)
		labdma_chan_stop(&ld->chan[c], &done);
	labdma_wr(ld, LABDMA_REG_INT_MASK_SET, ~0U);
	labdma_wr(ld, LABDMA_REG_CTRL, 0);
	up_write(&ld->reset_sem);
	labdma_complete(&done);
}

/* The device will not come back: every queued request ends with @err. */
void labdma_fail_queued(struct labdma_dev *ld, int err)
{
	unsigned int c;

	for (c = 0; c < ld->nr_channels; c++)
		labdma_chan_fail_all(&ld->chan[c], err);
}

/*
 * The gate: labdma_enter() admits an operation unless the device is gone
 * (-ENODEV) or broken (-EIO); while it is paused (suspend, a reset, AER)
 * it waits, or fails with -EAGAIN for @nonblock.  An admitted operation
 * holds the gate until labdma_leave(), asynchronous ones until done().
 */
static bool labdma_try_enter(struct labdma_dev *ld, int *ret)
{
	unsigned long flags;
	bool decided = true;

	spin_lock_irqsave(&ld->state_lock, flags);
	if (ld->dead) {
		*ret = -ENODEV;
	} else if (ld->broken) {
		*ret = -EIO;
	} else if (ld->paused) {
		decided = false;
	} else {
		ld->active++;
		*ret = 0;
	}
	spin_unlock_irqrestore(&ld->state_lock, flags);
	return decided;
}

int labdma_enter(struct labdma_dev *ld, bool nonblock)
{
	int ret;

	if (labdma_try_enter(ld, &ret))
		return ret;
	if (nonblock)
		return -EAGAIN;
	if (wait_event_interruptible(ld->state_wq, labdma_try_enter(ld, &ret)))
		return -ERESTARTSYS;
	return ret;
}

void labdma_leave(struct labdma_dev *ld)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&ld->state_lock, flags);
	if (!WARN_ON_ONCE(!ld->active))
		ld->active--;
	idle = !ld->active;
	spin_unlock_irqrestore(&ld->state_lock, flags);
	if (idle)
		wake_up_all(&ld->state_wq);
}

static bool labdma_idle(struct labdma_dev *ld)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&ld->state_lock, flags);
	idle = !ld->active;
	spin_unlock_irqrestore(&ld->state_lock, flags);
	return idle;
}

/* First step of remove: nothing new gets in, every sleeper wakes up. */
unsigned int labdma_kill(struct labdma_dev *ld)
{
	unsigned int active;

	spin_lock_irq(&ld->state_lock);
	ld->dead = true;
	active = ld->active;
	spin_unlock_irq(&ld->state_lock);
	wake_up_all(&ld->state_wq);
	wake_up_all(&ld->test_wq);
	return active;
}

/* After the kill and every request has ended: wait for callers to leave. */
void labdma_drain(struct labdma_dev *ld)
{
	wait_event(ld->state_wq, labdma_idle(ld));
}

/*
 * Close the gate and give what is in flight @ms to end (each operation has
 * its own timeout, at most LABDMA_TIMEOUT_MAX_MS).  -EBUSY if some did
 * not; the gate stays closed either way.
 */
int labdma_pause(struct labdma_dev *ld, unsigned int ms)
{
	spin_lock_irq(&ld->state_lock);
	ld->paused = true;
	spin_unlock_irq(&ld->state_lock);
	if (!wait_event_timeout(ld->state_wq, labdma_idle(ld),
				msecs_to_jiffies(ms)))
		return -EBUSY;
	return 0;
}

/* Open the gate again; with !@ok the device is broken (-EIO). */
void labdma_resume(struct labdma_dev *ld, bool ok)
{
	spin_lock_irq(&ld->state_lock);
	ld->paused = false;
	ld->broken = !ok;
	spin_unlock_irq(&ld->state_lock);
	wake_up_all(&ld->state_wq);
}

void labdma_mark_broken(struct labdma_dev *ld)
{
	unsigned long flags;

	spin_lock_irqsave(&ld->state_lock, flags);
	ld->broken = true;
	spin_unlock_irqrestore(&ld->state_lock, flags);
	ld->cut_off(ld);
}

struct labdma_chan *labdma_chan_pick(struct labdma_dev *ld, u32 index)
{
	if (index == LABDMA_CHANNEL_ANY)
		index = (unsigned int)atomic_inc_return(&ld->next_chan) %
			ld->nr_channels;
	if (index >= ld->nr_channels)
		return NULL;
	return &ld->chan[index];
}

/*
 * Hard handler: acknowledge exactly the sources this vector serves and saw,
 * leave the work to the thread.  Nothing of ours pending: IRQ_NONE, so the
 * kernel's spurious-interrupt accounting sees it.
 */
irqreturn_t labdma_irq_hard(int irq, void *data)
{
	struct labdma_vec *v = data;
	struct labdma_dev *ld = v->ld;
	u32 st = labdma_rd(ld, LABDMA_REG_INT_STATUS);

	if (st == ~0U)		/* no device answers: surprise removal */
		return IRQ_NONE;
	st &= v->bits & READ_ONCE(ld->unmasked);
	if (!st) {
		atomic64_inc(&ld->stats.spurious_irqs);
		return IRQ_NONE;
	}
	labdma_wr(ld, LABDMA_REG_INT_STATUS, st);
	atomic_or(st, &v->pending);
	atomic64_inc(&ld->stats.irqs);
	trace_labdma_irq(ld->index, v->index, st);
	return IRQ_WAKE_THREAD;
}

static void labdma_test_seen(struct labdma_dev *ld, u32 bits)
{
	unsigned long flags, b, mask = bits;

	spin_lock_irqsave(&ld->test_lock, flags);
	for_each_set_bit(b, &mask, 8)
		ld->test_seen[b] = ++ld->test_gen;
	spin_unlock_irqrestore(&ld->test_lock, flags);
	atomic64_add(hweight32(bits), &ld->stats.test_irqs);
	wake_up_all(&ld->test_wq);
}

irqreturn_t labdma_irq_thread(int irq, void *data)
{
	struct labdma_vec *v = data;
	struct labdma_dev *ld = v->ld;
	u32 pending = atomic_xchg(&v->pending, 0);
	unsigned int c;

	for (c = 0; c < ld->nr_channels; c++)
		if ((pending & LABDMA_INT_CHAN(c)) ||
		    (pending & LABDMA_INT_ERROR))
			labdma_chan_service(&ld->chan[c], true);
	if (pending & LABDMA_INT_TESTS)
		labdma_test_seen(ld, pending >> LABDMA_INT_TEST_SHIFT);
	return IRQ_HANDLED;
}

static bool labdma_test_done(struct labdma_dev *ld, u32 bits, u64 gen)
{
	unsigned long flags, b, mask = bits;
	bool done = true;

	spin_lock_irqsave(&ld->test_lock, flags);
	for_each_set_bit(b, &mask, 8)
		if (ld->test_seen[b] <= gen)
			done = false;
	spin_unlock_irqrestore(&ld->test_lock, flags);
	return done || READ_ONCE(ld->dead);
}

/*
 * The reference device's "raise an interrupt": set INT_TEST @bits (0..7)
 * and wait, interruptibly and at most @ms, until the handler has seen each.
 * Callers are inside the gate.
 */
int labdma_doint(struct labdma_dev *ld, u32 bits, unsigned int ms,
		 u64 *count, u64 *ns)
{
	unsigned long flags;
	long left;
	u64 gen, t0;

	spin_lock_irqsave(&ld->test_lock, flags);
	gen = ld->test_gen;
	spin_unlock_irqrestore(&ld->test_lock, flags);

	t0 = ktime_get_ns();
	labdma_wr(ld, LABDMA_REG_INT_TEST, bits << LABDMA_INT_TEST_SHIFT);
	left = wait_event_interruptible_timeout(ld->test_wq,
						labdma_test_done(ld, bits, gen),
						msecs_to_jiffies(ms));
	if (left < 0)
		return left;
	if (READ_ONCE(ld->dead))
		return -ENODEV;
	if (!left) {
		dev_warn_ratelimited(&ld->dev,
				     "test interrupt 0x%02x not seen within %u ms\n",
				     bits, ms);
		return -ETIMEDOUT;
	}
	*ns = ktime_get_ns() - t0;
	*count = atomic64_read(&ld->stats.test_irqs);
	return 0;
}

/* REG_READ: the global registers software may read, and live channels'. */
static bool labdma_reg_readable(struct labdma_dev *ld, u32 off)
{
	if (off & 3)
		return false;
	switch (off) {
	case LABDMA_REG_ID:
	case LABDMA_REG_VERSION:
	case LABDMA_REG_CAP:
	case LABDMA_REG_MAX_XFER:
	case LABDMA_REG_CTRL:
	case LABDMA_REG_STATUS:
	case LABDMA_REG_SCRATCH:
	case LABDMA_REG_INT_STATUS:
	case LABDMA_REG_INT_MASK:
	case LABDMA_REG_TIMESTAMP_LO:
	case LABDMA_REG_TIMESTAMP_HI:
		return true;
	}
	return off >= LABDMA_CH_BASE(0) &&
	       off < LABDMA_CH_BASE(ld->nr_channels) &&
	       (off & 0xff) <= LABDMA_CH_LAST;
}

int labdma_reg_read(struct labdma_dev *ld, u32 off, u32 *val)
{
	unsigned long flags;

	if (!labdma_reg_readable(ld, off))
		return -EINVAL;
	/* a _LO read latches _HI: keep LO/HI pairs of two callers apart */
	spin_lock_irqsave(&ld->reg_lock, flags);
	*val = labdma_rd(ld, off);
	spin_unlock_irqrestore(&ld->reg_lock, flags);
	return 0;
}

/*
 * REG_WRITE: only SCRATCH and INT_TEST.  Everything that steers DMA (rings,
 * write-back, doorbells, channel control, vectors) belongs to the driver:
 * -EPERM; offsets that are no register: -EINVAL.
 */
int labdma_reg_write(struct labdma_dev *ld, u32 off, u32 val)
{
	unsigned long flags;

	if (off == LABDMA_REG_INT_TEST) {
		if (val & ~LABDMA_INT_TESTS)
			return -EINVAL;
	} else if (off != LABDMA_REG_SCRATCH) {
		bool listed = labdma_reg_readable(ld, off) ||
			      off == LABDMA_REG_INT_MASK_SET ||
			      off == LABDMA_REG_INT_MASK_CLEAR;

		return listed ? -EPERM : -EINVAL;
	}
	spin_lock_irqsave(&ld->reg_lock, flags);
	labdma_wr(ld, off, val);
	spin_unlock_irqrestore(&ld->reg_lock, flags);
	return 0;
}

/*
 * Soft reset of the whole function (LABDMA_IOC_RESET): every channel stops,
 * the device resets, the rings are programmed again and what was queued
 * runs from its first unfinished piece.
 */
int labdma_dev_reset(struct labdma_dev *ld)
{
	unsigned int c;

	LIST_HEAD(done);
	int ret = 0;

	down_write(&ld->reset_sem);
	for (c = 0; c < ld->nr_channels; c++)
		labdma_chan_stop(&ld->chan[c], &done);
	labdma_wr(ld, LABDMA_REG_CTRL, LABDMA_CTRL_RESET);
	ret = labdma_identify(ld, false);
	if (!ret) {
		labdma_hw_start(ld);
		atomic64_add(ld->nr_channels, &ld->stats.channel_resets);
	}
	up_write(&ld->reset_sem);
	labdma_complete(&done);
	if (ret) {
		labdma_fail_queued(ld, -EIO);
		labdma_mark_broken(ld);
		return -EIO;
	}
	return 0;
}

void labdma_get_stats(struct labdma_dev *ld, struct labdma_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->irqs = atomic64_read(&ld->stats.irqs);
	st->test_irqs = atomic64_read(&ld->stats.test_irqs);
	st->spurious_irqs = atomic64_read(&ld->stats.spurious_irqs);
	st->lost_irqs = atomic64_read(&ld->stats.lost_irqs);
	st->descs = atomic64_read(&ld->stats.descs);
	st->bytes = atomic64_read(&ld->stats.bytes);
	st->submits = atomic64_read(&ld->stats.submits);
	st->errors = atomic64_read(&ld->stats.errors);
	st->timeouts = atomic64_read(&ld->stats.timeouts);
	st->channel_resets = atomic64_read(&ld->stats.channel_resets);
	st->recoveries = atomic64_read(&ld->stats.recoveries);
}
