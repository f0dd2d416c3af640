// SPDX-License-Identifier: GPL-2.0
/*
 * edu sysfs attributes of /sys/class/edu/eduN (docs/ABI/sysfs-class-edu):
 * identity, counters, state and the device's policy knobs.  None of them
 * touches the hardware.
 */

#include <linux/device.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "edu_drv.h"

static ssize_t id_register_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "0x%08x\n", to_edu_dev(dev)->id_register);
}
static DEVICE_ATTR_RO(id_register);

static ssize_t version_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	u32 id = to_edu_dev(dev)->id_register;

	return sysfs_emit(buf, "%u.%u\n", EDU_ID_MAJOR(id), EDU_ID_MINOR(id));
}
static DEVICE_ATTR_RO(version);

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%s\n", to_edu_dev(dev)->msi ? "msi" : "intx");
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t dma_mask_bits_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_edu_dev(dev)->dma_bits);
}
static DEVICE_ATTR_RO(dma_mask_bits);

static ssize_t dma_window_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", EDU_DMA_WINDOW);
}
static DEVICE_ATTR_RO(dma_window);

static ssize_t edu_counter_show(atomic64_t *counter, char *buf)
{
	return sysfs_emit(buf, "%llu\n", (u64)atomic64_read(counter));
}

static ssize_t irqs_show(struct device *dev, struct device_attribute *attr,
			 char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.irqs, buf);
}
static DEVICE_ATTR_RO(irqs);

static ssize_t factorial_ops_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.factorial_ops, buf);
}
static DEVICE_ATTR_RO(factorial_ops);

static ssize_t dma_ops_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.dma_ops, buf);
}
static DEVICE_ATTR_RO(dma_ops);

static ssize_t dma_bytes_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.dma_bytes, buf);
}
static DEVICE_ATTR_RO(dma_bytes);

static ssize_t errors_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.errors, buf);
}
static DEVICE_ATTR_RO(errors);

static ssize_t timeouts_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.timeouts, buf);
}
static DEVICE_ATTR_RO(timeouts);

static ssize_t staging_budget_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lu\n",
			  READ_ONCE(to_edu_dev(dev)->staging_budget));
}

/* Lowering the budget frees nothing: it stops new allocations. */
static ssize_t staging_budget_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	unsigned long v;
	int ret;

	ret = kstrtoul(buf, 0, &v);
	if (ret)
		return ret;
	WRITE_ONCE(to_edu_dev(dev)->staging_budget, v);
	return count;
}
static DEVICE_ATTR_RW(staging_budget);

static ssize_t staging_used_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%ld\n",
			  atomic_long_read(&to_edu_dev(dev)->staging_used));
}
static DEVICE_ATTR_RO(staging_used);

static ssize_t recoveries_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return edu_counter_show(&to_edu_dev(dev)->stats.recoveries, buf);
}
static DEVICE_ATTR_RO(recoveries);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct edu_dev *edu = to_edu_dev(dev);
	const char *state = "ok";

	spin_lock_irq(&edu->state_lock);
	if (edu->dead)
		state = "removed";
	else if (edu->broken)
		state = "broken";
	else if (edu->suspended)
		state = "suspended";
	spin_unlock_irq(&edu->state_lock);
	return sysfs_emit(buf, "%s\n", state);
}
static DEVICE_ATTR_RO(state);

/* Indexed by EDU_WAIT_IRQ..EDU_WAIT_HYBRID (include/uapi/linux/edu.h). */
static const char * const edu_wait_names[] = {
	[EDU_WAIT_IRQ] = "irq",
	[EDU_WAIT_POLL] = "poll",
	[EDU_WAIT_HYBRID] = "hybrid",
};

static ssize_t wait_mode_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	unsigned int mode = READ_ONCE(to_edu_dev(dev)->wait_mode);

	return sysfs_emit(buf, "%s\n", edu_wait_names[mode]);
}

static ssize_t wait_mode_store(struct device *dev,
			       struct device_attribute *attr,
			       const char *buf, size_t count)
{
	unsigned int mode;

	/* not __sysfs_match_string(): it stops at the unnamed entry 0 */
	for (mode = EDU_WAIT_IRQ; mode < ARRAY_SIZE(edu_wait_names); mode++) {
		if (sysfs_streq(buf, edu_wait_names[mode])) {
			WRITE_ONCE(to_edu_dev(dev)->wait_mode, mode);
			return count;
		}
	}
	return -EINVAL;
}
static DEVICE_ATTR_RW(wait_mode);

static ssize_t edu_uint_store(unsigned int *knob, unsigned int min,
			      unsigned int max, const char *buf, size_t count)
{
	unsigned int v;
	int ret;

	ret = kstrtouint(buf, 0, &v);
	if (ret)
		return ret;
	if (v < min || v > max)
		return -ERANGE;
	WRITE_ONCE(*knob, v);
	return count;
}

static ssize_t hybrid_spin_us_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n",
			  READ_ONCE(to_edu_dev(dev)->hybrid_spin_us));
}

static ssize_t hybrid_spin_us_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	return edu_uint_store(&to_edu_dev(dev)->hybrid_spin_us, 0,
			      EDU_HYBRID_SPIN_MAX_US, buf, count);
}
static DEVICE_ATTR_RW(hybrid_spin_us);

static ssize_t timeout_ms_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(to_edu_dev(dev)->timeout_ms));
}

static ssize_t timeout_ms_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	return edu_uint_store(&to_edu_dev(dev)->timeout_ms, 1,
			      EDU_TIMEOUT_MAX_MS, buf, count);
}
static DEVICE_ATTR_RW(timeout_ms);

static struct attribute *edu_attrs[] = {
	&dev_attr_id_register.attr,
	&dev_attr_version.attr,
	&dev_attr_irq_mode.attr,
	&dev_attr_dma_mask_bits.attr,
	&dev_attr_dma_window.attr,
	&dev_attr_irqs.attr,
	&dev_attr_factorial_ops.attr,
	&dev_attr_dma_ops.attr,
	&dev_attr_dma_bytes.attr,
	&dev_attr_errors.attr,
	&dev_attr_timeouts.attr,
	&dev_attr_staging_budget.attr,
	&dev_attr_staging_used.attr,
	&dev_attr_recoveries.attr,
	&dev_attr_state.attr,
	&dev_attr_wait_mode.attr,
	&dev_attr_hybrid_spin_us.attr,
	&dev_attr_timeout_ms.attr,
	NULL
};

static const struct attribute_group edu_group = {
	.attrs = edu_attrs,
};

const struct attribute_group *edu_groups[] = {
	&edu_group,
	NULL
};
