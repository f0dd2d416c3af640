// SPDX-License-Identifier: GPL-2.0
/*
 * edu core: the operations the char device offers, built on the engine
 * (edu_engine.c): the gate that separates them from remove, suspend and
 * resets, the per-unit claims, interrupt handling and asynchronous
 * operations.  It knows neither files nor PCI: an asynchronous operation
 * reports to a callback, and a device whose DMA engine does not stop is
 * handed to the bus glue (edu->cut_off).
 */

#include <linux/bitops.h>
#include <linux/interrupt.h>
#include <linux/jiffies.h>
#include <linux/sched/signal.h>
#include <linux/string.h>

#include "edu_drv.h"

#define CREATE_TRACE_POINTS
#include "edu_trace.h"

unsigned int edu_resolve_wait(struct edu_dev *edu, u32 flags)
{
	unsigned int mode = flags & EDU_WAIT_MASK;

	if (mode == EDU_WAIT_DEFAULT)
		mode = READ_ONCE(edu->wait_mode);
	if (mode < EDU_WAIT_IRQ || mode > EDU_WAIT_HYBRID)
		mode = EDU_WAIT_HYBRID;
	return mode;
}

static void edu_unit_timeout_work(struct work_struct *work);

static void edu_unit_init(struct edu_dev *edu, struct edu_unit *u, bool dma)
{
	static struct lock_class_key fact_key, dma_key;

	lockdep_init_map(&u->claim_map, dma ? "edu_dma_claim" : "edu_fact_claim",
			 dma ? &dma_key : &fact_key, 0);
	u->edu = edu;
	u->is_dma = dma;
	spin_lock_init(&u->lock);
	init_waitqueue_head(&u->claim_wq);
	init_waitqueue_head(&u->done_wq);
	INIT_DELAYED_WORK(&u->timeout_work, edu_unit_timeout_work);
}

void edu_dev_init(struct edu_dev *edu)
{
	static struct lock_class_key gate_key;

	lockdep_init_map(&edu->gate_map, "edu_gate", &gate_key, 0);
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
 *
 * For lockdep the gate is a reader/writer lock: a section holds it for
 * reading, and closing or draining the gate takes it for writing, so a
 * section that waits for something the closer holds is reported.  An
 * asynchronous operation's section outlives the task that started it;
 * that task drops the lockdep side when it hands the operation over
 * (edu_async_handoff()), the completer ends the section unannotated.
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

static int edu_enter_wait(struct edu_dev *edu, unsigned int flags)
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

int edu_enter(struct edu_dev *edu, unsigned int flags)
{
	int ret = edu_enter_wait(edu, flags);

	/* only a hardware section can wait for the gate to reopen */
	if (!ret)
		rwsem_acquire_read(&edu->gate_map, 0,
				   !(flags & EDU_ENTER_HW) ||
				   (flags & EDU_ENTER_NONBLOCK), _RET_IP_);
	return ret;
}

/* End a section without lockdep: the completer of an asynchronous one. */
static void edu_gate_put(struct edu_dev *edu)
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

void edu_leave(struct edu_dev *edu)
{
	rwsem_release(&edu->gate_map, _RET_IP_);
	edu_gate_put(edu);
}

/* Waiting for every section to leave: the writer side, for lockdep. */
static void edu_gate_wait_annotate(struct edu_dev *edu)
{
	rwsem_acquire(&edu->gate_map, 0, 0, _RET_IP_);
	rwsem_release(&edu->gate_map, _RET_IP_);
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
	edu_gate_wait_annotate(edu);
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
	edu_gate_wait_annotate(edu);
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

	edu_gate_wait_annotate(edu);
	if (!wait_event_timeout(edu->state_wq, edu_idle(edu),
				msecs_to_jiffies(ms)))
		return -EBUSY;
	return 0;
}

static void edu_gate_reopen(struct edu_dev *edu)
{
	spin_lock_irq(&edu->state_lock);
	edu->suspended = false;
	spin_unlock_irq(&edu->state_lock);
	wake_up_all(&edu->state_wq);
}

/* Suspend refuses (-EBUSY) rather than cut an operation short. */
int edu_suspend_drain(struct edu_dev *edu)
{
	int ret = edu_gate_close(edu, EDU_SUSPEND_DRAIN_MS);

	if (ret)
		edu_gate_reopen(edu);
	return ret;
}

/*
 * After resume, a function reset or PCI error recovery: the device has been
 * re-initialised and is as good as @ok (its identification register) says.
 */
void edu_gate_open(struct edu_dev *edu, bool ok)
{
	spin_lock_irq(&edu->state_lock);
	edu->suspended = false;
	edu->broken = !ok;
	spin_unlock_irq(&edu->state_lock);
	wake_up_all(&edu->state_wq);
}

/*
 * A DMA engine that does not stop may still write memory that is about to
 * be freed: mark the device broken (hardware sections fail with -EIO) and
 * let the bus glue cut it off the bus and recover it with a reset.
 */
static void edu_dma_stuck(struct edu_dev *edu)
{
	unsigned long flags;

	dev_err(&edu->dev,
		"DMA engine stuck; bus mastering off until the device is reset\n");
	spin_lock_irqsave(&edu->state_lock, flags);
	edu->broken = true;
	spin_unlock_irqrestore(&edu->state_lock, flags);
	atomic64_inc(&edu->stats.errors);
	edu->cut_off(edu);
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

	if (edu_unit_try_claim(edu, u, false, &ret)) {
		if (!ret)
			mutex_acquire(&u->claim_map, 0, 1, _RET_IP_);
		return ret;
	}
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
	if (!ret)
		mutex_acquire(&u->claim_map, 0, 0, _RET_IP_);
	return ret;
}

/* Release without lockdep: the completer of an asynchronous operation. */
static void edu_unit_put(struct edu_dev *edu, struct edu_unit *u)
{
	unsigned long flags;

	spin_lock_irqsave(&u->lock, flags);
	WARN_ON_ONCE(!u->busy);
	u->busy = false;
	spin_unlock_irqrestore(&u->lock, flags);
	wake_up(&u->claim_wq);
}

void edu_unit_release(struct edu_dev *edu, struct edu_unit *u)
{
	mutex_release(&u->claim_map, _RET_IP_);
	edu_unit_put(edu, u);
}

/*
 * Interrupts.  The handler acks exactly the bits it saw; everything it does
 * is short and IRQ-safe, so there is no threaded part.
 */
static void edu_async_finish(struct edu_dev *edu, struct edu_unit *u,
			     edu_done_fn done, void *cookie, u32 arg,
			     int status, u64 result)
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
	done(cookie, u->is_dma ? EDU_COMPLETION_DMA : EDU_COMPLETION_FACTORIAL,
	     status, result);
	/* the asynchronous operation owned the claim and a gate section */
	edu_unit_put(edu, u);
	edu_gate_put(edu);
}

static void edu_unit_irq(struct edu_dev *edu, struct edu_unit *u)
{
	edu_done_fn done = NULL;
	void *cookie = NULL;
	unsigned long flags;
	u64 result = 0;
	u32 arg = 0;

	wake_up_all(&u->done_wq);

	spin_lock_irqsave(&u->lock, flags);
	if (u->async_cookie && edu_unit_hw_idle(edu, u) == 1) {
		cookie = u->async_cookie;
		done = u->async_done;
		u->async_cookie = NULL;
		arg = u->async_arg;
		result = u->is_dma ? arg : edu_rd(edu, EDU_REG_FACTORIAL);
	}
	spin_unlock_irqrestore(&u->lock, flags);

	if (cookie) {
		cancel_delayed_work(&u->timeout_work);
		edu_async_finish(edu, u, done, cookie, arg, 0, result);
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

/* An operation on a unit: a hardware gate section and the unit's claim. */
static int edu_op_begin(struct edu_dev *edu, struct edu_unit *u, bool nonblock)
{
	int ret;

	ret = edu_enter(edu, EDU_ENTER_HW | (nonblock ? EDU_ENTER_NONBLOCK : 0));
	if (ret)
		return ret;
	ret = edu_unit_claim(edu, u, nonblock);
	if (ret)
		edu_leave(edu);
	return ret;
}

static void edu_op_end(struct edu_dev *edu, struct edu_unit *u)
{
	edu_unit_release(edu, u);
	edu_leave(edu);
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

int edu_factorial(struct edu_dev *edu, u32 input, unsigned int mode,
		  unsigned int timeout_ms, bool nonblock, u32 *result)
{
	unsigned long deadline;
	u32 res = 0;
	int ret;

	ret = edu_op_begin(edu, &edu->fact, nonblock);
	if (ret)
		return ret;
	ret = edu_fact_settle(edu, nonblock);
	if (!ret) {
		deadline = jiffies + msecs_to_jiffies(timeout_ms);
		dev_dbg(&edu->dev, "factorial(%u) mode %u\n", input, mode);
		edu_fact_kick(edu, input, mode == EDU_WAIT_IRQ);
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
	edu_op_end(edu, &edu->fact);
	return ret;
}

int edu_dma_xfer(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
		 bool to_device, unsigned int mode)
{
	unsigned long deadline;
	int ret;

	deadline = jiffies + msecs_to_jiffies(READ_ONCE(edu->timeout_ms));
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
		if (edu_dma_drain(edu))
			edu_dma_stuck(edu);
	}
	trace_edu_dma_complete(edu->index, len, ret);
	return ret;
}

/* read/write: the shared bounce buffer is covered by the DMA claim. */
int edu_bounce_rw(struct edu_dev *edu, void *buf, u32 dev_off, u32 len,
		  bool to_device, bool nonblock)
{
	int ret;

	ret = edu_op_begin(edu, &edu->dma, nonblock);
	if (ret)
		return ret;
	dev_dbg(&edu->dev, "%s %u bytes at %u via bounce buffer\n",
		to_device ? "write" : "read", len, dev_off);
	if (to_device)
		memcpy(edu->bounce, buf, len);
	ret = edu_dma_xfer(edu, edu->bounce_dma, dev_off, len, to_device,
			   edu_resolve_wait(edu, EDU_WAIT_DEFAULT));
	if (!ret && !to_device)
		memcpy(buf, edu->bounce, len);
	edu_op_end(edu, &edu->dma);
	return ret;
}

int edu_dma(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
	    bool to_device, unsigned int mode, bool nonblock)
{
	int ret;

	ret = edu_op_begin(edu, &edu->dma, nonblock);
	if (ret)
		return ret;
	ret = edu_dma_xfer(edu, addr, dev_off, len, to_device, mode);
	edu_op_end(edu, &edu->dma);
	return ret;
}

/*
 * Asynchronous operations.  The operation owns its unit's claim and one gate
 * section until it is finished, by the interrupt handler, by its timeout
 * work, by remove (through the timeout work) or by edu_async_cancel().
 * Ownership is handed over through unit->async_cookie under unit->lock:
 * whoever clears it finishes, and calls the completion exactly once.
 */
/*
 * The starting task hands its claim and gate section over to the
 * operation: for lockdep it no longer holds them (edu_async_finish() ends
 * them unannotated, from wherever the operation finishes).
 */
static void edu_async_handoff(struct edu_dev *edu, struct edu_unit *u)
{
	mutex_release(&u->claim_map, _RET_IP_);
	rwsem_release(&edu->gate_map, _RET_IP_);
}

static void edu_async_arm(struct edu_unit *u, edu_done_fn done, void *cookie,
			  u32 arg, unsigned long deadline)
{
	lockdep_assert_held(&u->lock);
	u->async_cookie = cookie;
	u->async_done = done;
	u->async_arg = arg;
	u->async_deadline = deadline;
	/* after edu_kill(): finish at once, remove is waiting for it */
	mod_delayed_work(system_wq, &u->timeout_work,
			 edu_is_dead(u->edu) ? 0 :
			 max_t(long, (long)(deadline - jiffies), 1));
}

/*
 * The engine may still write the memory of an operation that is being
 * finished without its interrupt: wait for it before the owner reuses it.
 */
static void edu_async_settle(struct edu_dev *edu, struct edu_unit *u)
{
	if (u->is_dma && edu_dma_drain(edu))
		edu_dma_stuck(edu);
}

static void edu_unit_timeout_work(struct work_struct *work)
{
	struct edu_unit *u = container_of(to_delayed_work(work),
					  struct edu_unit, timeout_work);
	struct edu_dev *edu = u->edu;
	edu_done_fn done;
	void *cookie;
	bool dead;
	u32 arg;

	spin_lock_irq(&u->lock);
	cookie = u->async_cookie;
	done = u->async_done;
	dead = edu_is_dead(edu);
	if (cookie && !dead && time_before(jiffies, u->async_deadline)) {
		/* stale run left over from a previous operation */
		mod_delayed_work(system_wq, &u->timeout_work,
				 u->async_deadline - jiffies);
		cookie = NULL;
	} else if (cookie) {
		u->async_cookie = NULL;
	}
	arg = u->async_arg;
	spin_unlock_irq(&u->lock);
	if (!cookie)
		return;

	edu_async_settle(edu, u);
	if (!dead) {
		atomic64_inc(&edu->stats.timeouts);
		dev_dbg(&edu->dev, "asynchronous %s timed out\n",
			u->is_dma ? "DMA" : "factorial");
	}
	edu_async_finish(edu, u, done, cookie, arg,
			 dead ? -ENODEV : -ETIMEDOUT, 0);
}

/*
 * Finish @cookie's operations now with -ECANCELED (their owner is going
 * away, e.g. a file being closed) instead of waiting for them: a factorial
 * may compute for a minute.  The factorial unit keeps computing; its next
 * user settles it (edu_fact_settle(), interruptible).  A DMA transfer may
 * still write the owner's memory: the engine is waited for, which is one
 * transfer (100 ms) at most.  On return @done has been called for each.
 */
void edu_async_cancel(struct edu_dev *edu, void *cookie)
{
	struct edu_unit *units[] = { &edu->fact, &edu->dma };
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		struct edu_unit *u = units[i];
		edu_done_fn done;
		bool mine;
		u32 arg;

		spin_lock_irq(&u->lock);
		mine = u->async_cookie == cookie;
		if (mine)
			u->async_cookie = NULL;	/* whoever clears it finishes */
		done = u->async_done;
		arg = u->async_arg;
		spin_unlock_irq(&u->lock);
		if (!mine)
			continue;

		cancel_delayed_work(&u->timeout_work);
		edu_async_settle(edu, u);
		dev_dbg(&edu->dev, "asynchronous %s cancelled\n",
			u->is_dma ? "DMA" : "factorial");
		edu_async_finish(edu, u, done, cookie, arg, -ECANCELED, 0);
	}
}

int edu_factorial_async(struct edu_dev *edu, u32 input,
			unsigned int timeout_ms, bool nonblock,
			edu_done_fn done, void *cookie)
{
	struct edu_unit *u = &edu->fact;
	unsigned long deadline;
	int ret;

	ret = edu_op_begin(edu, u, nonblock);
	if (ret)
		return ret;
	ret = edu_fact_settle(edu, nonblock);
	if (ret) {
		if (ret == -ETIMEDOUT)
			atomic64_inc(&edu->stats.timeouts);
		edu_op_end(edu, u);
		return ret;
	}
	deadline = jiffies + msecs_to_jiffies(timeout_ms);

	dev_dbg(&edu->dev, "async factorial(%u)\n", input);
	/* arm and start atomically w.r.t. the handler: stale IRQs are harmless */
	spin_lock_irq(&u->lock);
	edu_async_handoff(edu, u);
	edu_async_arm(u, done, cookie, input, deadline);
	edu_fact_kick(edu, input, true);
	spin_unlock_irq(&u->lock);
	return 0;
}

/* @addr is mapped for the device by the caller, until @done is called. */
int edu_dma_async(struct edu_dev *edu, dma_addr_t addr, u32 dev_off, u32 len,
		  bool to_device, bool nonblock, edu_done_fn done,
		  void *cookie)
{
	struct edu_unit *u = &edu->dma;
	unsigned long deadline;
	int ret;

	ret = edu_op_begin(edu, u, nonblock);
	if (ret)
		return ret;
	dev_dbg(&edu->dev, "async DMA %u bytes\n", len);
	deadline = jiffies + msecs_to_jiffies(READ_ONCE(edu->timeout_ms));
	spin_lock_irq(&u->lock);
	ret = edu_dma_program(edu, addr, dev_off, len, to_device, true);
	if (!ret) {
		edu_async_handoff(edu, u);
		edu_async_arm(u, done, cookie, len, deadline);
	}
	spin_unlock_irq(&u->lock);
	if (!ret)
		return 0;
	edu_op_end(edu, u);
	return ret;
}
