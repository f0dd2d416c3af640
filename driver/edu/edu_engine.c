// SPDX-License-Identifier: GPL-2.0
/*
 * edu engine: the hardware as the rest of the driver sees it.  Register
 * access, waiting for a unit to go idle (interrupt, polling, hybrid), the
 * factorial unit and the DMA engine's programming model.  No files, no PCI,
 * no policy: callers pass the wait mode and deadline, and hold the unit's
 * claim (edu_core.c) where there is one.
 */

#include <linux/delay.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/sched/signal.h>

#include "edu_drv.h"
#include "edu_trace.h"

/* Polling: spin this long first, then sleep with exponential back-off. */
#define EDU_POLL_SPIN_US	20
#define EDU_POLL_MIN_US		10
#define EDU_POLL_MAX_US		1000

/* Registers at 0x80 and above take 8-byte accesses. */
static void edu_write64(struct edu_dev *edu, u32 reg, u64 val)
{
#ifdef CONFIG_64BIT
	writeq(val, edu->regs + reg);
#else
	/* probe limits the mask to 32 bits; the device zero-extends */
	writel(lower_32_bits(val), edu->regs + reg);
#endif
}

u64 edu_read64(struct edu_dev *edu, u32 reg)
{
#ifdef CONFIG_64BIT
	return readq(edu->regs + reg);
#else
	return readl(edu->regs + reg);
#endif
}

bool edu_id_supported(u32 id)
{
	return (id & EDU_ID_MAGIC_MASK) == EDU_ID_MAGIC &&
	       EDU_ID_MAJOR(id) == EDU_ID_KNOWN_MAJOR;
}

/*
 * Put the device into the state the driver assumes: no IRQ bits pending.
 * After probe, resume and a reset, so it also ends an injected fault.
 */
void edu_hw_init(struct edu_dev *edu)
{
	WRITE_ONCE(edu->fact.stuck, false);
	WRITE_ONCE(edu->dma.stuck, false);
	edu_wr(edu, EDU_REG_STATUS, 0);
	edu_wr(edu, EDU_REG_IRQ_ACK, U32_MAX);
}

/*
 * Leave the device with nothing that can raise an interrupt later.  Also
 * works around QEMU 7.2 hanging on hot-unplug: unrealize joins the
 * factorial thread while holding the global lock, and a thread that
 * finishes with the IRQ-enable bit set waits for that lock forever.
 */
void edu_hw_quiesce(struct edu_dev *edu)
{
	edu_wr(edu, EDU_REG_STATUS, 0);
	edu_wr(edu, EDU_REG_IRQ_ACK, U32_MAX);
}

/* 1: idle, 0: busy, -ENODEV: the device is gone (reads all ones). */
int edu_unit_hw_idle(struct edu_dev *edu, struct edu_unit *u)
{
	u32 v;

	if (READ_ONCE(u->stuck))
		return 0;
	if (u->is_dma) {
		v = edu_rd(edu, EDU_REG_DMA_CMD);
		if (v == U32_MAX)
			return -ENODEV;
		return !(v & EDU_DMA_CMD_START);
	}
	v = edu_rd(edu, EDU_REG_STATUS);
	if (v == U32_MAX)
		return -ENODEV;
	return !(v & EDU_STATUS_BUSY);
}

/*
 * Waits for a unit to go idle.  Completion is always confirmed by reading
 * the hardware, so stale or shared interrupts are harmless.
 *
 * @intr: interruptible (-ERESTARTNOHAND) and aborted by remove (-ENODEV).
 * Used for the factorial unit; DMA waits are bounded (100 ms per transfer)
 * and never abandon memory the device may still write.
 *
 * Return: 0 when idle, -ETIMEDOUT, -ERESTARTNOHAND or -ENODEV.
 */
static int edu_poll_idle(struct edu_dev *edu, struct edu_unit *u,
			 unsigned long deadline, bool intr)
{
	ktime_t spin_end = ktime_add_us(ktime_get(), EDU_POLL_SPIN_US);
	unsigned int delay = EDU_POLL_MIN_US;
	int r;

	for (;;) {
		r = edu_unit_hw_idle(edu, u);
		if (r)
			return r < 0 ? r : 0;
		if (time_after_eq(jiffies, deadline))
			return -ETIMEDOUT;
		if (intr && signal_pending(current))
			return -ERESTARTNOHAND;
		if (intr && edu_is_dead(edu))
			return -ENODEV;
		if (ktime_before(ktime_get(), spin_end)) {
			cpu_relax();
			continue;
		}
		usleep_range(delay, delay * 2);
		delay = min(delay * 2, EDU_POLL_MAX_US);
	}
}

/* Return: 1 idle, 0 still busy after @us, -ENODEV gone. */
static int edu_spin_idle(struct edu_dev *edu, struct edu_unit *u,
			 unsigned int us)
{
	ktime_t end = ktime_add_us(ktime_get(), us);
	int r;

	do {
		r = edu_unit_hw_idle(edu, u);
		if (r)
			return r;
		cpu_relax();
	} while (ktime_before(ktime_get(), end));
	return 0;
}

/* Wait condition: sets *@r to the idle state; @intr also stops on remove. */
static bool edu_settled(struct edu_dev *edu, struct edu_unit *u, bool intr,
			int *r)
{
	*r = edu_unit_hw_idle(edu, u);
	return *r || (intr && edu_is_dead(edu));
}

static int edu_sleep_idle(struct edu_dev *edu, struct edu_unit *u,
			  unsigned long deadline, bool intr)
{
	long left = max_t(long, (long)(deadline - jiffies), 0);
	long ret;
	int r = 0;

	if (intr)
		ret = wait_event_interruptible_timeout(u->done_wq,
						       edu_settled(edu, u, 1, &r),
						       left);
	else
		ret = wait_event_idle_timeout(u->done_wq,
					      edu_settled(edu, u, 0, &r),
					      left);
	if (r)
		return r < 0 ? r : 0;
	if (ret < 0)
		return -ERESTARTNOHAND;
	if (!ret)
		return -ETIMEDOUT;
	return -ENODEV;
}

int edu_wait_idle(struct edu_dev *edu, struct edu_unit *u, unsigned int mode,
		  unsigned long deadline, bool intr)
{
	int r;

	switch (mode) {
	case EDU_WAIT_POLL:
		return edu_poll_idle(edu, u, deadline, intr);
	case EDU_WAIT_HYBRID:
		r = edu_spin_idle(edu, u, READ_ONCE(edu->hybrid_spin_us));
		if (r)
			return r < 0 ? r : 0;
		/*
		 * A hybrid factorial starts without its interrupt, which under
		 * TCG costs more than a short computation; it is asked for only
		 * now.  QEMU clears "computing" before it looks at the enable
		 * bit, so the sleep's first look at the status cannot miss an
		 * end that raced with this write.
		 */
		if (!u->is_dma)
			edu_wr(edu, EDU_REG_STATUS, EDU_STATUS_IRQ);
		fallthrough;
	default:
		return edu_sleep_idle(edu, u, deadline, intr);
	}
}

/*
 * Factorial unit.  Writes to the factorial register are ignored while the
 * unit computes, so an operation first waits for a computation abandoned
 * by an earlier, timed out or interrupted, operation.  That wait does not
 * eat into the operation's own timeout (n = 2^32 - 1 takes seconds); it is
 * interruptible and bounded by the largest timeout an operation may have.
 */
int edu_fact_settle(struct edu_dev *edu, bool nonblock)
{
	unsigned long deadline;
	int r = edu_unit_hw_idle(edu, &edu->fact);

	if (r)
		return r < 0 ? r : 0;
	if (nonblock)
		return -EAGAIN;
	dev_dbg(&edu->dev, "factorial unit still busy, waiting\n");
	deadline = jiffies + msecs_to_jiffies(EDU_TIMEOUT_MAX_MS);
	return edu_poll_idle(edu, &edu->fact, deadline, true);
}

void edu_fact_kick(struct edu_dev *edu, u32 input, bool irq)
{
	/* QEMU orders the IRQ-enable bit before the start: keep this order */
	edu_wr(edu, EDU_REG_STATUS, irq ? EDU_STATUS_IRQ : 0);
	edu_wr(edu, EDU_REG_FACTORIAL, input);
}

/*
 * DMA engine.  Only this function writes the DMA registers.  It refuses,
 * whatever the callers checked, every transfer QEMU would abort on and every
 * address the device cannot reach (the device would silently clamp it).
 */
int edu_dma_program(struct edu_dev *edu, dma_addr_t addr, u32 dev_off,
		    u32 len, bool to_device, bool irq)
{
	u64 dev_addr = EDU_DMA_BUF_ADDR + dev_off;
	u32 cmd = EDU_DMA_CMD_START;
	u64 src, dst;
	u32 state;

	if (WARN_ON_ONCE(!len || dev_off >= EDU_DMA_WINDOW ||
			 len > EDU_DMA_WINDOW - dev_off)) {
		atomic64_inc(&edu->stats.errors);
		return -EINVAL;
	}
	if (addr > edu->dma_mask || len - 1 > edu->dma_mask - addr) {
		dev_err_ratelimited(&edu->dev,
				    "refusing DMA to %pad+%u: beyond the %u-bit DMA mask\n",
				    &addr, len, edu->dma_bits);
		atomic64_inc(&edu->stats.errors);
		return -EIO;
	}
	if (READ_ONCE(edu->broken))
		return -EIO;	/* bus mastering was cut off */
	state = edu_rd(edu, EDU_REG_DMA_CMD);
	if (state == U32_MAX)
		return -ENODEV;
	if (state & EDU_DMA_CMD_START) {
		/* cannot happen: the claim holder always waits for idle */
		dev_err_ratelimited(&edu->dev, "DMA engine unexpectedly busy\n");
		atomic64_inc(&edu->stats.errors);
		return -EBUSY;
	}

	if (to_device) {
		src = addr;
		dst = dev_addr;
	} else {
		src = dev_addr;
		dst = addr;
		cmd |= EDU_DMA_CMD_TO_RAM;
	}
	if (irq)
		cmd |= EDU_DMA_CMD_IRQ;

	edu_write64(edu, EDU_REG_DMA_SRC, src);
	edu_write64(edu, EDU_REG_DMA_DST, dst);
	edu_wr(edu, EDU_REG_DMA_COUNT, len);
	trace_edu_dma_submit(edu->index, src, dst, len, cmd);
	edu_wr(edu, EDU_REG_DMA_CMD, cmd);
	/* debugfs inject_dma_stuck: this transfer never reads as done */
	if (atomic_dec_if_positive(&edu->inject_dma_stuck) >= 0)
		WRITE_ONCE(edu->dma.stuck, true);
	return 0;
}

/*
 * After a timeout, wait for the transfer to really end before the memory
 * it targets is released.  -ETIMEDOUT: the engine does not stop; the
 * caller must cut the device off the bus before that memory is reused.
 */
int edu_dma_drain(struct edu_dev *edu)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(EDU_DMA_DRAIN_MS);
	int ret = edu_poll_idle(edu, &edu->dma, deadline, false);

	return ret == -ETIMEDOUT ? ret : 0;
}
