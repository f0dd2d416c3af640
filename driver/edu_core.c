// SPDX-License-Identifier: GPL-2.0
/*
 * edu core: register access, the gate that separates operations from
 * remove/suspend, the per-unit claims, interrupt handling, waits (IRQ, poll,
 * hybrid), the factorial unit, the DMA engine and asynchronous operations.
 */

#include <linux/bitops.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/poll.h>
#include <linux/sched/signal.h>
#include <linux/string.h>

#include "edu_drv.h"

#define CREATE_TRACE_POINTS
#include "edu_trace.h"

/* Polling: spin this long first, then sleep with exponential back-off. */
#define EDU_POLL_SPIN_US	20
#define EDU_POLL_MIN_US		10
#define EDU_POLL_MAX_US		1000

static u32 edu_rd(struct edu_dev *edu, u32 reg)
{
	return readl(edu->regs + reg);
}

static void edu_wr(struct edu_dev *edu, u32 reg, u32 val)
{
	writel(val, edu->regs + reg);
}

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

/* Put the device into the state the driver assumes: no IRQ bits pending. */
void edu_hw_init(struct edu_dev *edu)
{
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

unsigned int edu_resolve_wait(u32 flags)
{
	unsigned int mode = flags & EDU_WAIT_MASK;

	if (mode == EDU_WAIT_DEFAULT)
		mode = READ_ONCE(edu_wait_mode);
	if (mode < EDU_WAIT_IRQ || mode > EDU_WAIT_HYBRID)
		mode = EDU_WAIT_HYBRID;
	return mode;
}

static void edu_unit_timeout_work(struct work_struct *work);

static void edu_unit_init(struct edu_dev *edu, struct edu_unit *u, bool dma)
{
	u->edu = edu;
	u->is_dma = dma;
	spin_lock_init(&u->lock);
	init_waitqueue_head(&u->claim_wq);
	init_waitqueue_head(&u->done_wq);
	INIT_DELAYED_WORK(&u->timeout_work, edu_unit_timeout_work);
}

void edu_dev_init(struct edu_dev *edu)
{
	spin_lock_init(&edu->state_lock);
	init_waitqueue_head(&edu->state_wq);
	edu_unit_init(edu, &edu->fact, false);
	edu_unit_init(edu, &edu->dma, true);
	spin_lock_init(&edu->reg_lock);
	spin_lock_init(&edu->irq_lock);
	init_waitqueue_head(&edu->raise_wq);
	mutex_init(&edu->files_lock);
	INIT_LIST_HEAD(&edu->files);
}

/*
 * The gate.  edu_enter() admits an operation unless the device is dead;
 * with EDU_ENTER_HW it also waits while the device is suspended.  remove
 * and suspend wait for all admitted operations to leave.
 */
static bool edu_try_enter(struct edu_dev *edu, unsigned int flags, int *ret)
{
	unsigned long irqflags;
	bool decided = true;

	spin_lock_irqsave(&edu->state_lock, irqflags);
	if (edu->dead) {
		*ret = -ENODEV;
	} else if ((flags & EDU_ENTER_HW) && edu->broken) {
		*ret = -EIO;
	} else if ((flags & EDU_ENTER_HW) && edu->suspended) {
		decided = false;
	} else {
		edu->active++;
		*ret = 0;
	}
	spin_unlock_irqrestore(&edu->state_lock, irqflags);
	return decided;
}

int edu_enter(struct edu_dev *edu, unsigned int flags)
{
	int ret;

	if (edu_try_enter(edu, flags, &ret))
		return ret;
	if (flags & EDU_ENTER_NONBLOCK)
		return -EAGAIN;
	dev_dbg(&edu->dev, "waiting for resume\n");
	if (wait_event_interruptible(edu->state_wq,
				     edu_try_enter(edu, flags, &ret)))
		return -ERESTARTNOHAND;
	return ret;
}

/* May be called from interrupt context (asynchronous completions). */
void edu_leave(struct edu_dev *edu)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&edu->state_lock, flags);
	if (!WARN_ON_ONCE(!edu->active))
		edu->active--;
	idle = !edu->active;
	spin_unlock_irqrestore(&edu->state_lock, flags);
	if (idle)
		wake_up_all(&edu->state_wq);
}

bool edu_is_dead(struct edu_dev *edu)
{
	return READ_ONCE(edu->dead);
}

static bool edu_idle(struct edu_dev *edu)
{
	bool idle;

	spin_lock_irq(&edu->state_lock);
	idle = !edu->active;
	spin_unlock_irq(&edu->state_lock);
	return idle;
}

/*
 * Run the unit's timeout work now.  Under u->lock, so that an asynchronous
 * operation armed concurrently (edu_async_arm()) either is armed before and
 * gets this immediate run, or sees "dead" and arms with no delay itself.
 */
static void edu_unit_expire(struct edu_unit *u)
{
	spin_lock_irq(&u->lock);
	mod_delayed_work(system_wq, &u->timeout_work, 0);
	spin_unlock_irq(&u->lock);
}

/*
 * First half of remove: no new operation gets in, every sleeper in the core
 * wakes up (waiters on claims, the gate, completions and RAISE_IRQ), and
 * asynchronous operations are finished off by their timeout work.  The
 * files' own waiters (poll, SIGIO, EDU_IOC_COMPLETE) belong to the char
 * device: edu_remove() hangs them up next.
 */
unsigned int edu_kill(struct edu_dev *edu)
{
	unsigned int active;

	spin_lock_irq(&edu->state_lock);
	edu->dead = true;
	active = edu->active;
	spin_unlock_irq(&edu->state_lock);

	wake_up_all(&edu->state_wq);
	wake_up_all(&edu->fact.claim_wq);
	wake_up_all(&edu->dma.claim_wq);
	wake_up_all(&edu->fact.done_wq);
	wake_up_all(&edu->dma.done_wq);
	wake_up_all(&edu->raise_wq);
	edu_unit_expire(&edu->fact);
	edu_unit_expire(&edu->dma);
	return active;
}

/*
 * Second half of remove: wait until nothing touches the hardware or the DMA
 * API any more.  Bounded: the factorial waits bail out on "dead", a DMA
 * transfer finishes within 100 ms (or the device is gone and reads ~0).
 */
void edu_drain(struct edu_dev *edu)
{
	wait_event(edu->state_wq, edu_idle(edu));
	cancel_delayed_work_sync(&edu->fact.timeout_work);
	cancel_delayed_work_sync(&edu->dma.timeout_work);
}

/*
 * edu_drain() for shutdown, which must not hold up a reboot: -EBUSY when
 * operations are still in the gate after @ms (a DMA transfer of a device
 * that stopped answering).
 */
int edu_drain_timeout(struct edu_dev *edu, unsigned int ms)
{
	if (!wait_event_timeout(edu->state_wq, edu_idle(edu),
				msecs_to_jiffies(ms)))
		return -EBUSY;
	return 0;
}

/*
 * Close the gate for suspend or a function reset: new hardware sections
 * wait (interruptibly), and the ones in progress get @ms to finish.
 * -EBUSY if they did not; the gate stays closed.
 */
int edu_gate_close(struct edu_dev *edu, unsigned int ms)
{
	spin_lock_irq(&edu->state_lock);
	edu->suspended = true;
	spin_unlock_irq(&edu->state_lock);

	if (!wait_event_timeout(edu->state_wq, edu_idle(edu),
				msecs_to_jiffies(ms)))
		return -EBUSY;
	return 0;
}

int edu_suspend_drain(struct edu_dev *edu)
{
	int ret = edu_gate_close(edu, EDU_SUSPEND_DRAIN_MS);

	if (ret)
		edu_resume_done(edu, true);
	return ret;
}

void edu_resume_done(struct edu_dev *edu, bool ok)
{
	spin_lock_irq(&edu->state_lock);
	edu->suspended = false;
	if (!ok)
		edu->broken = true;
	spin_unlock_irq(&edu->state_lock);
	wake_up_all(&edu->state_wq);
}

/* After a function reset the device is as good as its ID register says. */
void edu_reset_done(struct edu_dev *edu, bool ok)
{
	spin_lock_irq(&edu->state_lock);
	edu->suspended = false;
	edu->broken = !ok;
	spin_unlock_irq(&edu->state_lock);
	wake_up_all(&edu->state_wq);
}

static void edu_set_broken(struct edu_dev *edu)
{
	unsigned long flags;

	spin_lock_irqsave(&edu->state_lock, flags);
	edu->broken = true;
	spin_unlock_irqrestore(&edu->state_lock, flags);
}

/*
 * Claims: one operation at a time per unit.  Released with
 * edu_unit_release(), possibly from interrupt context, so this is not a
 * mutex - but it borrows the mutex's anti-starvation rule.  A claim is not
 * FIFO: a caller that releases and claims again at once keeps the unit
 * without a context switch, which is what makes back-to-back transfers
 * fast.  A waiter that was woken and still found the unit taken sets
 * @handoff; from then on only waiters that have slept may claim, so the
 * unit goes to a waiter at the next release.
 *
 * Why not a struct semaphore (FIFO, fair, up() from IRQ context)?  Remove
 * must wake every waiter at once and make it fail with -ENODEV; a task in
 * down_interruptible() only returns for up() or a signal.  And up() hands
 * the semaphore to the first waiter, so every back-to-back operation of a
 * busy unit would pay a wake-up and a context switch - under TCG a halted
 * vCPU's wake-up, the cost make bench measures.  The handoff rule keeps
 * the fairness (Fairness.BackToBackTransfersDoNotStarveAWaiter).
 */
static bool edu_unit_try_claim(struct edu_dev *edu, struct edu_unit *u,
			       bool slept, int *ret)
{
	unsigned long flags;
	bool decided = true;

	spin_lock_irqsave(&u->lock, flags);
	if (edu_is_dead(edu)) {
		*ret = -ENODEV;
	} else if (!u->busy && (slept || !u->handoff)) {
		u->busy = true;
		u->handoff = false;
		*ret = 0;
	} else {
		if (slept && u->busy)
			u->handoff = true;
		decided = false;
	}
	spin_unlock_irqrestore(&u->lock, flags);
	return decided;
}

/*
 * A waiter leaves without the unit (signal): its wakeup may have been meant
 * for it and its handoff must not shut out newcomers with nobody left to
 * take the unit.  The next woken waiter sets @handoff again if needed.
 */
static void edu_unit_give_up(struct edu_unit *u)
{
	unsigned long flags;
	bool busy;

	spin_lock_irqsave(&u->lock, flags);
	u->handoff = false;
	busy = u->busy;
	spin_unlock_irqrestore(&u->lock, flags);
	if (!busy)
		wake_up(&u->claim_wq);
}

int edu_unit_claim(struct edu_dev *edu, struct edu_unit *u, bool nonblock)
{
	DEFINE_WAIT(wait);
	bool slept = false;
	int ret;

	if (edu_unit_try_claim(edu, u, false, &ret))
		return ret;
	if (nonblock)
		return -EAGAIN;
	for (;;) {
		/* queued before looking, so a release cannot be missed */
		prepare_to_wait_exclusive(&u->claim_wq, &wait,
					  TASK_INTERRUPTIBLE);
		if (edu_unit_try_claim(edu, u, slept, &ret))
			break;
		if (signal_pending(current)) {
			ret = -ERESTARTNOHAND;
			break;
		}
		schedule();
		slept = true;
	}
	finish_wait(&u->claim_wq, &wait);
	if (ret == -ERESTARTNOHAND)
		edu_unit_give_up(u);
	return ret;
}

void edu_unit_release(struct edu_dev *edu, struct edu_unit *u)
{
	unsigned long flags;

	spin_lock_irqsave(&u->lock, flags);
	WARN_ON_ONCE(!u->busy);
	u->busy = false;
	spin_unlock_irqrestore(&u->lock, flags);
	wake_up(&u->claim_wq);
}

/* 1: idle, 0: busy, -ENODEV: the device is gone (reads all ones). */
static int edu_unit_hw_idle(struct edu_dev *edu, struct edu_unit *u)
{
	u32 v;

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

static int edu_wait_idle(struct edu_dev *edu, struct edu_unit *u,
			 unsigned int mode, unsigned long deadline, bool intr)
{
	int r;

	switch (mode) {
	case EDU_WAIT_POLL:
		return edu_poll_idle(edu, u, deadline, intr);
	case EDU_WAIT_HYBRID:
		r = edu_spin_idle(edu, u, READ_ONCE(edu_hybrid_spin_us));
		if (r)
			return r < 0 ? r : 0;
		fallthrough;
	default:
		return edu_sleep_idle(edu, u, deadline, intr);
	}
}

/*
 * Interrupts.  The handler acks exactly the bits it saw; everything it does
 * is short and IRQ-safe, so there is no threaded part.
 */
static void edu_async_finish(struct edu_dev *edu, struct edu_unit *u,
			     struct edu_file *ef, u32 arg, int status,
			     u64 result)
{
	if (u->is_dma) {
		if (!status) {
			atomic64_inc(&edu->stats.dma_ops);
			atomic64_add(arg, &edu->stats.dma_bytes);
		}
		trace_edu_dma_complete(edu->index, arg, status);
	} else {
		if (!status)
			atomic64_inc(&edu->stats.factorial_ops);
		trace_edu_factorial(edu->index, arg, (u32)result, status);
	}
	edu_file_post(ef, u->is_dma ? EDU_COMPLETION_DMA :
		      EDU_COMPLETION_FACTORIAL, status, result);
	/* the asynchronous operation owned the claim and a gate section */
	edu_unit_release(edu, u);
	edu_leave(edu);
}

static void edu_unit_irq(struct edu_dev *edu, struct edu_unit *u)
{
	struct edu_file *ef = NULL;
	unsigned long flags;
	u64 result = 0;
	u32 arg = 0;

	wake_up_all(&u->done_wq);

	spin_lock_irqsave(&u->lock, flags);
	if (u->async_file && edu_unit_hw_idle(edu, u) == 1) {
		ef = u->async_file;
		u->async_file = NULL;
		arg = u->async_arg;
		result = u->is_dma ? arg : edu_rd(edu, EDU_REG_FACTORIAL);
	}
	spin_unlock_irqrestore(&u->lock, flags);

	if (ef) {
		cancel_delayed_work(&u->timeout_work);
		edu_async_finish(edu, u, ef, arg, 0, result);
	}
}

static void edu_raise_record(struct edu_dev *edu, u32 bits)
{
	unsigned long pending = bits;
	unsigned long flags;
	unsigned int bit;

	spin_lock_irqsave(&edu->irq_lock, flags);
	edu->irq_gen++;
	for_each_set_bit(bit, &pending, 32)
		edu->irq_seen[bit] = edu->irq_gen;
	spin_unlock_irqrestore(&edu->irq_lock, flags);
	wake_up_all(&edu->raise_wq);
}

irqreturn_t edu_irq_handler(int irq, void *data)
{
	struct edu_dev *edu = data;
	u32 status, other;

	/* CONFIG_DEBUG_SHIRQ calls us at request and after free time */
	if (!READ_ONCE(edu->irq_live))
		return IRQ_NONE;

	status = edu_rd(edu, EDU_REG_IRQ_STATUS);
	if (!status)
		return IRQ_NONE;
	if (status == U32_MAX && edu_rd(edu, EDU_REG_ID) == U32_MAX)
		return IRQ_NONE;	/* surprise removal */

	edu_wr(edu, EDU_REG_IRQ_ACK, status);
	atomic64_inc(&edu->stats.irqs);
	trace_edu_irq(edu->index, status);

	if (status & EDU_IRQ_FACTORIAL)
		edu_unit_irq(edu, &edu->fact);
	if (status & EDU_IRQ_DMA)
		edu_unit_irq(edu, &edu->dma);
	other = status & ~EDU_DRIVER_IRQS;
	if (other)
		edu_raise_record(edu, other);

	return IRQ_HANDLED;
}

static bool edu_raise_seen(struct edu_dev *edu, u32 status, u64 start)
{
	unsigned long bits = status;
	unsigned long flags;
	unsigned int bit;
	bool seen = true;

	spin_lock_irqsave(&edu->irq_lock, flags);
	for_each_set_bit(bit, &bits, 32) {
		if (edu->irq_seen[bit] <= start) {
			seen = false;
			break;
		}
	}
	spin_unlock_irqrestore(&edu->irq_lock, flags);
	return seen;
}

static bool edu_raise_settled(struct edu_dev *edu, u32 status, u64 start)
{
	return edu_raise_seen(edu, status, start) || edu_is_dead(edu);
}

int edu_raise_irq(struct edu_dev *edu, u32 status, u64 *irq_count)
{
	long t;
	u64 start;
	int ret;

	ret = edu_enter(edu, EDU_ENTER_HW);
	if (ret)
		return ret;

	spin_lock_irq(&edu->irq_lock);
	start = edu->irq_gen;
	spin_unlock_irq(&edu->irq_lock);

	edu_wr(edu, EDU_REG_IRQ_RAISE, status);
	t = wait_event_interruptible_timeout(edu->raise_wq,
					     edu_raise_settled(edu, status, start),
					     msecs_to_jiffies(EDU_RAISE_TIMEOUT_MS));
	if (edu_raise_seen(edu, status, start)) {
		*irq_count = atomic64_read(&edu->stats.irqs);
		ret = 0;
	} else if (t < 0) {
		ret = -ERESTARTNOHAND;
	} else if (edu_is_dead(edu)) {
		ret = -ENODEV;
	} else {
		atomic64_inc(&edu->stats.timeouts);
		dev_warn_ratelimited(&edu->dev,
				     "raised IRQ 0x%08x was not delivered\n",
				     status);
		ret = -ETIMEDOUT;
	}
	edu_leave(edu);
	return ret;
}

int edu_liveness(struct edu_dev *edu, u32 value, u32 *inverted)
{
	int ret = edu_enter(edu, EDU_ENTER_HW);

	if (ret)
		return ret;
	spin_lock(&edu->reg_lock);
	edu_wr(edu, EDU_REG_LIVENESS, value);
	*inverted = edu_rd(edu, EDU_REG_LIVENESS);
	spin_unlock(&edu->reg_lock);
	edu_leave(edu);
	return 0;
}

/* Offsets are validated by the caller (edu_cdev.c). */
int edu_reg_read(struct edu_dev *edu, u32 offset, u32 *value)
{
	int ret = edu_enter(edu, EDU_ENTER_HW);

	if (ret)
		return ret;
	*value = edu_rd(edu, offset);
	edu_leave(edu);
	return 0;
}

int edu_reg_write(struct edu_dev *edu, u32 offset, u32 value)
{
	int ret = edu_enter(edu, EDU_ENTER_HW);

	if (ret)
		return ret;
	spin_lock(&edu->reg_lock);
	edu_wr(edu, offset, value);
	spin_unlock(&edu->reg_lock);
	edu_leave(edu);
	return 0;
}

/*
 * Factorial unit.  Writes to the factorial register are ignored while the
 * unit computes, so an operation first waits for a computation abandoned
 * by an earlier, timed out or interrupted, operation.  That wait does not
 * eat into the operation's own timeout (n = 2^32 - 1 takes seconds); it is
 * interruptible and bounded by the largest timeout an operation may have.
 */
static int edu_fact_settle(struct edu_dev *edu, bool nonblock)
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

static void edu_fact_kick(struct edu_dev *edu, u32 input, bool irq)
{
	/* QEMU orders the IRQ-enable bit before the start: keep this order */
	edu_wr(edu, EDU_REG_STATUS, irq ? EDU_STATUS_IRQ : 0);
	edu_wr(edu, EDU_REG_FACTORIAL, input);
}

int edu_factorial(struct edu_dev *edu, u32 input, unsigned int mode,
		  unsigned int timeout_ms, bool nonblock, u32 *result)
{
	unsigned int eflags = EDU_ENTER_HW;
	unsigned long deadline;
	u32 res = 0;
	int ret;

	if (nonblock)
		eflags |= EDU_ENTER_NONBLOCK;
	ret = edu_enter(edu, eflags);
	if (ret)
		return ret;
	ret = edu_unit_claim(edu, &edu->fact, nonblock);
	if (ret)
		goto out_leave;

	ret = edu_fact_settle(edu, nonblock);
	if (!ret) {
		deadline = jiffies + msecs_to_jiffies(timeout_ms);
		dev_dbg(&edu->dev, "factorial(%u) mode %u\n", input, mode);
		edu_fact_kick(edu, input, mode != EDU_WAIT_POLL);
		ret = edu_wait_idle(edu, &edu->fact, mode, deadline, true);
	}
	if (!ret) {
		res = edu_rd(edu, EDU_REG_FACTORIAL);
		*result = res;
		atomic64_inc(&edu->stats.factorial_ops);
	} else if (ret == -ETIMEDOUT) {
		atomic64_inc(&edu->stats.timeouts);
		dev_dbg(&edu->dev, "factorial(%u) timed out\n", input);
	}
	trace_edu_factorial(edu->index, input, res, ret);
	edu_unit_release(edu, &edu->fact);
out_leave:
	edu_leave(edu);
	return ret;
}

/*
 * Asynchronous operations.  The operation owns its unit's claim and one gate
 * section until it is finished, by the interrupt handler, by its timeout
 * work, or by remove (through the timeout work).  Ownership is handed over
 * through unit->async_file under unit->lock: whoever clears it finishes.
 */
int edu_file_async_reserve(struct edu_file *ef)
{
	int ret = 0;

	spin_lock_irq(&ef->async_lock);
	if (ef->async_busy)
		ret = -EBUSY;
	else
		ef->async_busy = true;
	spin_unlock_irq(&ef->async_lock);
	return ret;
}

void edu_file_async_unreserve(struct edu_file *ef)
{
	spin_lock_irq(&ef->async_lock);
	ef->async_busy = false;
	wake_up_all(&ef->wq);
	spin_unlock_irq(&ef->async_lock);
}

/* The new operation replaces a completion nobody collected. */
static void edu_file_async_started(struct edu_file *ef)
{
	spin_lock_irq(&ef->async_lock);
	ef->async_done = false;
	spin_unlock_irq(&ef->async_lock);
}

/*
 * Publish a completion.  Everything that touches @ef happens under
 * async_lock, so edu_release() can free @ef once it has seen !async_busy
 * and taken the lock once.
 */
void edu_file_post(struct edu_file *ef, u32 op, int status, u64 result)
{
	unsigned long flags;

	spin_lock_irqsave(&ef->async_lock, flags);
	memset(&ef->async_result, 0, sizeof(ef->async_result));
	ef->async_result.op = op;
	ef->async_result.status = status;
	ef->async_result.result = result;
	ef->async_done = true;
	ef->async_busy = false;
	wake_up_poll(&ef->wq, EPOLLIN | EPOLLRDNORM);
	kill_fasync(&ef->fasync, SIGIO, POLL_IN);
	spin_unlock_irqrestore(&ef->async_lock, flags);
}

static void edu_async_arm(struct edu_unit *u, struct edu_file *ef, u32 arg,
			  unsigned long deadline)
{
	lockdep_assert_held(&u->lock);
	u->async_file = ef;
	u->async_arg = arg;
	u->async_deadline = deadline;
	/* after edu_kill(): finish at once, remove is waiting for it */
	mod_delayed_work(system_wq, &u->timeout_work,
			 edu_is_dead(u->edu) ? 0 :
			 max_t(long, (long)(deadline - jiffies), 1));
}

static void edu_dma_drain(struct edu_dev *edu);

static void edu_unit_timeout_work(struct work_struct *work)
{
	struct edu_unit *u = container_of(to_delayed_work(work),
					  struct edu_unit, timeout_work);
	struct edu_dev *edu = u->edu;
	struct edu_file *ef;
	bool dead;
	u32 arg;

	spin_lock_irq(&u->lock);
	ef = u->async_file;
	dead = edu_is_dead(edu);
	if (ef && !dead && time_before(jiffies, u->async_deadline)) {
		/* stale run left over from a previous operation */
		mod_delayed_work(system_wq, &u->timeout_work,
				 u->async_deadline - jiffies);
		ef = NULL;
	} else if (ef) {
		u->async_file = NULL;
	}
	arg = u->async_arg;
	spin_unlock_irq(&u->lock);
	if (!ef)
		return;

	/* The engine may still write into the staging buffer: let it finish. */
	if (u->is_dma)
		edu_dma_drain(edu);
	if (!dead) {
		atomic64_inc(&edu->stats.timeouts);
		dev_dbg(&edu->dev, "asynchronous %s timed out\n",
			u->is_dma ? "DMA" : "factorial");
	}
	edu_async_finish(edu, u, ef, arg, dead ? -ENODEV : -ETIMEDOUT, 0);
}

/*
 * release of a file whose asynchronous operation is still in flight: take
 * the operation over instead of waiting for it (a factorial may compute for
 * a minute, and close() would sit in D state, holding up exit and the
 * freezer).  The factorial unit keeps computing; its next user settles it
 * (edu_fact_settle(), interruptible).  A DMA transfer may still write the
 * staging buffer, which the caller is about to free: the engine is waited
 * for, which is one transfer (100 ms) at most.
 */
void edu_file_async_cancel(struct edu_file *ef)
{
	struct edu_dev *edu = ef->edu;
	struct edu_unit *units[] = { &edu->fact, &edu->dma };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		struct edu_unit *u = units[i];
		bool mine;
		u32 arg;

		spin_lock_irq(&u->lock);
		mine = u->async_file == ef;
		if (mine)
			u->async_file = NULL;	/* whoever clears it finishes */
		arg = u->async_arg;
		spin_unlock_irq(&u->lock);
		if (!mine)
			continue;

		cancel_delayed_work(&u->timeout_work);
		if (u->is_dma)
			edu_dma_drain(edu);
		dev_dbg(&edu->dev, "asynchronous %s cancelled by close\n",
			u->is_dma ? "DMA" : "factorial");
		edu_async_finish(edu, u, ef, arg, -ECANCELED, 0);
	}
}

int edu_factorial_async(struct edu_dev *edu, struct edu_file *ef, u32 input,
			unsigned int timeout_ms, bool nonblock)
{
	struct edu_unit *u = &edu->fact;
	unsigned int eflags = EDU_ENTER_HW;
	unsigned long deadline;
	int ret;

	ret = edu_file_async_reserve(ef);
	if (ret)
		return ret;
	if (nonblock)
		eflags |= EDU_ENTER_NONBLOCK;
	ret = edu_enter(edu, eflags);
	if (ret)
		goto out_unreserve;
	ret = edu_unit_claim(edu, u, nonblock);
	if (ret)
		goto out_leave;
	ret = edu_fact_settle(edu, nonblock);
	if (ret) {
		if (ret == -ETIMEDOUT)
			atomic64_inc(&edu->stats.timeouts);
		goto out_release;
	}
	deadline = jiffies + msecs_to_jiffies(timeout_ms);

	edu_file_async_started(ef);
	dev_dbg(&edu->dev, "async factorial(%u)\n", input);
	/* arm and start atomically w.r.t. the handler: stale IRQs are harmless */
	spin_lock_irq(&u->lock);
	edu_async_arm(u, ef, input, deadline);
	edu_fact_kick(edu, input, true);
	spin_unlock_irq(&u->lock);
	return 0;

out_release:
	edu_unit_release(edu, u);
out_leave:
	edu_leave(edu);
out_unreserve:
	edu_file_async_unreserve(ef);
	return ret;
}

/*
 * DMA engine.  Only this function writes the DMA registers.  It refuses,
 * whatever the callers checked, every transfer QEMU would abort on and every
 * address the device cannot reach (the device would silently clamp it).
 */
static int edu_dma_program(struct edu_dev *edu, dma_addr_t addr, u32 dev_off,
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
	return 0;
}

/*
 * After a timeout, wait for the transfer to really end before the memory
 * it targets is released.  A device that never finishes is cut off the bus.
 */
static void edu_dma_drain(struct edu_dev *edu)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(EDU_DMA_DRAIN_MS);

	if (edu_poll_idle(edu, &edu->dma, deadline, false) != -ETIMEDOUT)
		return;
	dev_err(&edu->dev,
		"DMA engine stuck; disabling bus mastering, device unusable\n");
	pci_clear_master(edu->pdev);
	edu_set_broken(edu);
	atomic64_inc(&edu->stats.errors);
}

int edu_dma_xfer(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
		 bool to_device, unsigned int mode)
{
	unsigned long deadline;
	int ret;

	deadline = jiffies + msecs_to_jiffies(READ_ONCE(edu_timeout_ms));
	ret = edu_dma_program(edu, addr, dev_off, len, to_device,
			      mode != EDU_WAIT_POLL);
	if (ret)
		return ret;
	ret = edu_wait_idle(edu, &edu->dma, mode, deadline, false);
	if (!ret) {
		atomic64_inc(&edu->stats.dma_ops);
		atomic64_add(len, &edu->stats.dma_bytes);
	} else if (ret == -ETIMEDOUT) {
		atomic64_inc(&edu->stats.timeouts);
		dev_warn_ratelimited(&edu->dev, "DMA transfer timed out\n");
		edu_dma_drain(edu);
	}
	trace_edu_dma_complete(edu->index, len, ret);
	return ret;
}

/* read/write: the shared bounce buffer is covered by the DMA claim. */
int edu_bounce_rw(struct edu_dev *edu, void *buf, u32 dev_off, u32 len,
		  bool to_device, bool nonblock)
{
	unsigned int eflags = EDU_ENTER_HW;
	int ret;

	if (nonblock)
		eflags |= EDU_ENTER_NONBLOCK;
	ret = edu_enter(edu, eflags);
	if (ret)
		return ret;
	ret = edu_unit_claim(edu, &edu->dma, nonblock);
	if (ret)
		goto out_leave;
	dev_dbg(&edu->dev, "%s %u bytes at %u via bounce buffer\n",
		to_device ? "write" : "read", len, dev_off);
	if (to_device)
		memcpy(edu->bounce, buf, len);
	ret = edu_dma_xfer(edu, edu->bounce_dma, dev_off, len, to_device,
			   edu_resolve_wait(EDU_WAIT_DEFAULT));
	if (!ret && !to_device)
		memcpy(buf, edu->bounce, len);
	edu_unit_release(edu, &edu->dma);
out_leave:
	edu_leave(edu);
	return ret;
}

/* The caller made sure @ef has a staging buffer and validated the ranges. */
int edu_staging_dma(struct edu_dev *edu, struct edu_file *ef, u32 soff,
		    u32 dev_off, u32 len, bool to_device, unsigned int mode,
		    bool nonblock)
{
	unsigned int eflags = EDU_ENTER_HW;
	int ret;

	if (nonblock)
		eflags |= EDU_ENTER_NONBLOCK;
	ret = edu_enter(edu, eflags);
	if (ret)
		return ret;
	ret = edu_unit_claim(edu, &edu->dma, nonblock);
	if (ret)
		goto out_leave;
	ret = edu_dma_xfer(edu, ef->staging_dma + soff, dev_off, len,
			   to_device, mode);
	edu_unit_release(edu, &edu->dma);
out_leave:
	edu_leave(edu);
	return ret;
}

int edu_staging_dma_async(struct edu_dev *edu, struct edu_file *ef, u32 soff,
			  u32 dev_off, u32 len, bool to_device, bool nonblock)
{
	struct edu_unit *u = &edu->dma;
	unsigned int eflags = EDU_ENTER_HW;
	unsigned long deadline;
	int ret;

	ret = edu_file_async_reserve(ef);
	if (ret)
		return ret;
	if (nonblock)
		eflags |= EDU_ENTER_NONBLOCK;
	ret = edu_enter(edu, eflags);
	if (ret)
		goto out_unreserve;
	ret = edu_unit_claim(edu, u, nonblock);
	if (ret)
		goto out_leave;

	edu_file_async_started(ef);
	dev_dbg(&edu->dev, "async DMA %u bytes\n", len);
	deadline = jiffies + msecs_to_jiffies(READ_ONCE(edu_timeout_ms));
	spin_lock_irq(&u->lock);
	ret = edu_dma_program(edu, ef->staging_dma + soff, dev_off, len,
			      to_device, true);
	if (!ret)
		edu_async_arm(u, ef, len, deadline);
	spin_unlock_irq(&u->lock);
	if (!ret)
		return 0;

	edu_unit_release(edu, u);
out_leave:
	edu_leave(edu);
out_unreserve:
	edu_file_async_unreserve(ef);
	return ret;
}
