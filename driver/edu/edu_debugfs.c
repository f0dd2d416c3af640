// SPDX-License-Identifier: GPL-2.0
/*
 * edu debugfs: /sys/kernel/debug/edu/eduN/
 *
 *   registers         register dump; reading the DMA registers does not
 *                     disturb a transfer
 *   inject_dma_stuck  fault injection: the next N transfers never read as
 *                     done, as a wedged engine; only a reset ends it
 *   inject_map_error  fault injection: the next N mappings of user memory
 *                     fail, as an exhausted IOMMU
 */

#include <linux/debugfs.h>
#include <linux/io.h>
#include <linux/seq_file.h>

#include "edu_drv.h"

static struct dentry *edu_debugfs_root;

static int edu_registers_show(struct seq_file *s, void *unused)
{
	struct edu_dev *edu = s->private;
	void __iomem *r = edu->regs;
	int ret;

	/* no register access while suspended or after remove */
	ret = edu_enter(edu, EDU_ENTER_HW | EDU_ENTER_NONBLOCK);
	if (ret)
		return ret;
	seq_printf(s, "id          0x%08x\n", readl(r + EDU_REG_ID));
	seq_printf(s, "liveness    0x%08x\n", readl(r + EDU_REG_LIVENESS));
	seq_printf(s, "factorial   0x%08x\n", readl(r + EDU_REG_FACTORIAL));
	seq_printf(s, "status      0x%08x\n", readl(r + EDU_REG_STATUS));
	seq_printf(s, "irq_status  0x%08x\n", readl(r + EDU_REG_IRQ_STATUS));
	seq_printf(s, "dma_src     0x%016llx\n", edu_read64(edu, EDU_REG_DMA_SRC));
	seq_printf(s, "dma_dst     0x%016llx\n", edu_read64(edu, EDU_REG_DMA_DST));
	seq_printf(s, "dma_count   0x%016llx\n",
		   edu_read64(edu, EDU_REG_DMA_COUNT));
	seq_printf(s, "dma_cmd     0x%016llx\n", edu_read64(edu, EDU_REG_DMA_CMD));
	edu_leave(edu);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(edu_registers);

/* Module load: /sys/kernel/debug/edu (an error only costs the debug files). */
void edu_debugfs_init(void)
{
	edu_debugfs_root = debugfs_create_dir(EDU_DRV_NAME, NULL);
}

void edu_debugfs_exit(void)
{
	debugfs_remove_recursive(edu_debugfs_root);
}

void edu_debugfs_add(struct edu_dev *edu)
{
	edu->debugfs = debugfs_create_dir(dev_name(&edu->dev),
					  edu_debugfs_root);
	debugfs_create_file("registers", 0400, edu->debugfs, edu,
			    &edu_registers_fops);
	debugfs_create_atomic_t("inject_dma_stuck", 0600, edu->debugfs,
				&edu->inject_dma_stuck);
	debugfs_create_atomic_t("inject_map_error", 0600, edu->debugfs,
				&edu->inject_map_error);
}

/* Waits for running readers (debugfs drains them). */
void edu_debugfs_remove(struct edu_dev *edu)
{
	debugfs_remove_recursive(edu->debugfs);
	edu->debugfs = NULL;
}
