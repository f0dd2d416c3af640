// SPDX-License-Identifier: GPL-2.0
/*
 * labdma debugfs: /sys/kernel/debug/labdma/labdmaN/
 *
 *   registers  the global registers and each channel's
 *   channels   each channel's ring position and queued requests
 *   inject_bad_dst
 *              fault injection: the next N descriptors that write memory
 *              get the device's own BAR0 as destination, an address it
 *              cannot write (behind an IOMMU: an unmapped IOVA), so the
 *              device's DST_WRITE path runs on demand
 */

#include <linux/debugfs.h>
#include <linux/seq_file.h>

#include "labdma_drv.h"

static struct dentry *labdma_debugfs_root;

static int labdma_registers_show(struct seq_file *s, void *unused)
{
	static const char *const ch_names[] = {
		"ring_lo", "ring_hi", "ring_size", "tail", "head", "ctrl",
		"status", "err_index", "err_addr_lo", "err_addr_hi", "wb_lo",
		"wb_hi", NULL, NULL, NULL, NULL, "vector" };
	struct labdma_dev *ld = s->private;
	unsigned int c, i;
	int ret;

	/* no register access while paused or after remove */
	ret = labdma_enter(ld, true);
	if (ret)
		return ret;
	seq_printf(s, "id          0x%08x\n", labdma_rd(ld, LABDMA_REG_ID));
	seq_printf(s, "version     0x%08x\n", labdma_rd(ld, LABDMA_REG_VERSION));
	seq_printf(s, "cap         0x%08x\n", labdma_rd(ld, LABDMA_REG_CAP));
	seq_printf(s, "max_xfer    0x%08x\n", labdma_rd(ld, LABDMA_REG_MAX_XFER));
	seq_printf(s, "ctrl        0x%08x\n", labdma_rd(ld, LABDMA_REG_CTRL));
	seq_printf(s, "status      0x%08x\n", labdma_rd(ld, LABDMA_REG_STATUS));
	seq_printf(s, "int_status  0x%08x\n",
		   labdma_rd(ld, LABDMA_REG_INT_STATUS));
	seq_printf(s, "int_mask    0x%08x\n", labdma_rd(ld, LABDMA_REG_INT_MASK));
	for (c = 0; c < ld->nr_channels; c++)
		for (i = 0; i < ARRAY_SIZE(ch_names); i++)
			/* counters skipped: reading LO would latch HI */
			if (ch_names[i])
				seq_printf(s, "ch%u.%-11s 0x%08x\n", c,
					   ch_names[i],
					   labdma_ch_rd(&ld->chan[c], i * 4));
	labdma_leave(ld);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(labdma_registers);

static int labdma_channels_show(struct seq_file *s, void *unused)
{
	struct labdma_dev *ld = s->private;
	unsigned int c;

	for (c = 0; c < ld->nr_channels; c++)
		labdma_chan_dump(&ld->chan[c], s);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(labdma_channels);

/* Module load: /sys/kernel/debug/labdma (an error only costs the files). */
void labdma_debugfs_init(void)
{
	labdma_debugfs_root = debugfs_create_dir(LABDMA_DRV_NAME, NULL);
}

void labdma_debugfs_exit(void)
{
	debugfs_remove_recursive(labdma_debugfs_root);
}

void labdma_debugfs_add(struct labdma_dev *ld)
{
	ld->debugfs = debugfs_create_dir(dev_name(&ld->dev),
					 labdma_debugfs_root);
	debugfs_create_file("registers", 0400, ld->debugfs, ld,
			    &labdma_registers_fops);
	debugfs_create_file("channels", 0400, ld->debugfs, ld,
			    &labdma_channels_fops);
	debugfs_create_atomic_t("inject_bad_dst", 0600, ld->debugfs,
				&ld->inject_bad_dst);
}

/* Waits for running readers (debugfs drains them). */
void labdma_debugfs_remove(struct labdma_dev *ld)
{
	debugfs_remove_recursive(ld->debugfs);
	ld->debugfs = NULL;
}
