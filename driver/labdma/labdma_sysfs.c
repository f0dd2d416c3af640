// SPDX-License-Identifier: GPL-2.0
/*
 * labdma sysfs attributes of /sys/class/labdma/labdmaN
 * (docs/ABI/sysfs-class-labdma): identity, state, tunables, and the
 * counters in statistics/.  Reading them never touches the hardware.
 */

#include <linux/device.h>
#include <linux/kstrtox.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "labdma_drv.h"

static ssize_t variant_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%s\n", to_labdma_dev(dev)->variant->name);
}
static DEVICE_ATTR_RO(variant);

static ssize_t version_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	u32 v = to_labdma_dev(dev)->hw_version;

	return sysfs_emit(buf, "%u.%u\n", LABDMA_VERSION_MAJOR(v), v & 0xffff);
}
static DEVICE_ATTR_RO(version);

static ssize_t channels_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", to_labdma_dev(dev)->nr_channels);
}
static DEVICE_ATTR_RO(channels);

static ssize_t ops_show(struct device *dev, struct device_attribute *attr,
			char *buf)
{
	static const char *const names[LABDMA_OP_COUNT] = {
		"nop", "copy", "fill", "mul2", "mul4", "crc32c" };
	struct labdma_dev *ld = to_labdma_dev(dev);
	ssize_t n = 0;
	unsigned int op;

	for (op = 0; op < LABDMA_OP_COUNT; op++)
		if (ld->ops_mask & BIT(op))
			n += sysfs_emit_at(buf, n, "%s%s", n ? " " : "",
					   names[op]);
	return n + sysfs_emit_at(buf, n, "\n");
}
static DEVICE_ATTR_RO(ops);

static ssize_t irq_mode_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	static const char *const modes[] = { "intx", "msi", "msix" };

	return sysfs_emit(buf, "%s\n", modes[to_labdma_dev(dev)->irq_mode]);
}
static DEVICE_ATTR_RO(irq_mode);

static ssize_t irq_vectors_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_labdma_dev(dev)->nr_vectors);
}
static DEVICE_ATTR_RO(irq_vectors);

static ssize_t ring_entries_show(struct device *dev,
				 struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_labdma_dev(dev)->ring_entries);
}
static DEVICE_ATTR_RO(ring_entries);

static ssize_t dma_mask_bits_show(struct device *dev,
				  struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", to_labdma_dev(dev)->dma_bits);
}
static DEVICE_ATTR_RO(dma_mask_bits);

static ssize_t state_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct labdma_dev *ld = to_labdma_dev(dev);
	const char *state;

	spin_lock_irq(&ld->state_lock);
	state = ld->dead ? "removed" : ld->broken ? "broken" :
		ld->paused ? "paused" : "ok";
	spin_unlock_irq(&ld->state_lock);
	return sysfs_emit(buf, "%s\n", state);
}
static DEVICE_ATTR_RO(state);

/*
 * Tunables (unsigned int fields of struct labdma_dev): each applies to
 * operations submitted after the write; coalescing to each channel from
 * its next (re)start.
 */
struct labdma_uint_attr {
	struct device_attribute attr;
	size_t offset;
	unsigned int min;
	unsigned int max;
};

static unsigned int *labdma_uint_field(struct device *dev,
				       struct device_attribute *attr)
{
	struct labdma_uint_attr *a = container_of(attr, struct labdma_uint_attr,
						  attr);

	return (unsigned int *)((u8 *)to_labdma_dev(dev) + a->offset);
}

static ssize_t labdma_uint_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(*labdma_uint_field(dev, attr)));
}

static ssize_t labdma_uint_store(struct device *dev,
				 struct device_attribute *attr,
				 const char *buf, size_t count)
{
	struct labdma_uint_attr *a = container_of(attr, struct labdma_uint_attr,
						  attr);
	unsigned int v;
	int ret = kstrtouint(buf, 0, &v);

	if (ret)
		return ret;
	if (v < a->min || v > a->max)
		return -ERANGE;
	WRITE_ONCE(*labdma_uint_field(dev, attr), v);
	return count;
}

static struct labdma_uint_attr labdma_attr_timeout_ms = {
	.attr = __ATTR(timeout_ms, 0644, labdma_uint_show, labdma_uint_store),
	.offset = offsetof(struct labdma_dev, timeout_ms),
	.min = 1, .max = LABDMA_TIMEOUT_MAX_MS,
};

static struct labdma_uint_attr labdma_attr_queue_depth = {
	.attr = __ATTR(queue_depth, 0644, labdma_uint_show, labdma_uint_store),
	.offset = offsetof(struct labdma_dev, queue_depth),
	.min = 1, .max = LABDMA_QUEUE_DEPTH_MAX,
};

static struct labdma_uint_attr labdma_attr_lost_irq_ms = {
	.attr = __ATTR(lost_irq_ms, 0644, labdma_uint_show, labdma_uint_store),
	.offset = offsetof(struct labdma_dev, lost_irq_ms),
	.min = 10, .max = 10000,
};

static struct labdma_uint_attr labdma_attr_coalesce_count = {
	.attr = __ATTR(coalesce_count, 0644, labdma_uint_show,
		       labdma_uint_store),
	.offset = offsetof(struct labdma_dev, coalesce_count),
	.min = 0, .max = 255,
};

static struct labdma_uint_attr labdma_attr_coalesce_usecs = {
	.attr = __ATTR(coalesce_usecs, 0644, labdma_uint_show,
		       labdma_uint_store),
	.offset = offsetof(struct labdma_dev, coalesce_usecs),
	.min = 0, .max = 65535,
};

static ssize_t max_async_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", READ_ONCE(to_labdma_dev(dev)->max_async));
}

static ssize_t max_async_store(struct device *dev,
			       struct device_attribute *attr, const char *buf,
			       size_t count)
{
	u64 v;
	int ret = kstrtou64(buf, 0, &v);

	if (ret)
		return ret;
	if (v < PAGE_SIZE || v > SZ_64M)
		return -ERANGE;
	WRITE_ONCE(to_labdma_dev(dev)->max_async, v);
	return count;
}
static DEVICE_ATTR_RW(max_async);

static struct attribute *labdma_attrs[] = {
	&dev_attr_variant.attr,
	&dev_attr_version.attr,
	&dev_attr_channels.attr,
	&dev_attr_ops.attr,
	&dev_attr_irq_mode.attr,
	&dev_attr_irq_vectors.attr,
	&dev_attr_ring_entries.attr,
	&dev_attr_dma_mask_bits.attr,
	&dev_attr_state.attr,
	&labdma_attr_timeout_ms.attr.attr,
	&labdma_attr_queue_depth.attr.attr,
	&labdma_attr_lost_irq_ms.attr.attr,
	&labdma_attr_coalesce_count.attr.attr,
	&labdma_attr_coalesce_usecs.attr.attr,
	&dev_attr_max_async.attr,
	NULL
};

static const struct attribute_group labdma_group = {
	.attrs = labdma_attrs,
};

/* Counters (atomic64_t fields of struct labdma_counters) */
struct labdma_counter_attr {
	struct device_attribute attr;
	size_t offset;
};

static ssize_t labdma_counter_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	struct labdma_counter_attr *a =
		container_of(attr, struct labdma_counter_attr, attr);
	atomic64_t *c = (atomic64_t *)((u8 *)&to_labdma_dev(dev)->stats +
				       a->offset);

	return sysfs_emit(buf, "%llu\n", (u64)atomic64_read(c));
}

static struct labdma_counter_attr labdma_stat_irqs = {
	.attr = __ATTR(irqs, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, irqs),
};

static struct labdma_counter_attr labdma_stat_test_irqs = {
	.attr = __ATTR(test_irqs, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, test_irqs),
};

static struct labdma_counter_attr labdma_stat_spurious_irqs = {
	.attr = __ATTR(spurious_irqs, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, spurious_irqs),
};

static struct labdma_counter_attr labdma_stat_lost_irqs = {
	.attr = __ATTR(lost_irqs, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, lost_irqs),
};

static struct labdma_counter_attr labdma_stat_descs = {
	.attr = __ATTR(descs, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, descs),
};

static struct labdma_counter_attr labdma_stat_bytes = {
	.attr = __ATTR(bytes, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, bytes),
};

static struct labdma_counter_attr labdma_stat_submits = {
	.attr = __ATTR(submits, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, submits),
};

static struct labdma_counter_attr labdma_stat_errors = {
	.attr = __ATTR(errors, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, errors),
};

static struct labdma_counter_attr labdma_stat_timeouts = {
	.attr = __ATTR(timeouts, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, timeouts),
};

static struct labdma_counter_attr labdma_stat_channel_resets = {
	.attr = __ATTR(channel_resets, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, channel_resets),
};

static struct labdma_counter_attr labdma_stat_recoveries = {
	.attr = __ATTR(recoveries, 0444, labdma_counter_show, NULL),
	.offset = offsetof(struct labdma_counters, recoveries),
};

static struct attribute *labdma_stat_attrs[] = {
	&labdma_stat_irqs.attr.attr,
	&labdma_stat_test_irqs.attr.attr,
	&labdma_stat_spurious_irqs.attr.attr,
	&labdma_stat_lost_irqs.attr.attr,
	&labdma_stat_descs.attr.attr,
	&labdma_stat_bytes.attr.attr,
	&labdma_stat_submits.attr.attr,
	&labdma_stat_errors.attr.attr,
	&labdma_stat_timeouts.attr.attr,
	&labdma_stat_channel_resets.attr.attr,
	&labdma_stat_recoveries.attr.attr,
	NULL
};

static const struct attribute_group labdma_stat_group = {
	.name = "statistics",
	.attrs = labdma_stat_attrs,
};

const struct attribute_group *labdma_groups[] = {
	&labdma_group,
	&labdma_stat_group,
	NULL
};
