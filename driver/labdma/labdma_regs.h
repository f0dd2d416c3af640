/* SPDX-License-Identifier: GPL-2.0 */
/*
 * labdma - the device's registers and descriptor (docs/labdma/datasheet.md)
 */
#ifndef _LABDMA_REGS_H
#define _LABDMA_REGS_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/sizes.h>
#include <linux/types.h>

#define LABDMA_BAR0_MIN_LEN	SZ_16K

/* Global registers (datasheet 3) */
#define LABDMA_REG_ID		0x000
#define LABDMA_REG_VERSION	0x004
#define LABDMA_REG_CAP		0x008
#define LABDMA_REG_MAX_XFER	0x00c
#define LABDMA_REG_CTRL		0x010
#define LABDMA_REG_STATUS	0x014
#define LABDMA_REG_SCRATCH	0x018
#define LABDMA_REG_INT_STATUS	0x020
#define LABDMA_REG_INT_MASK	0x024
#define LABDMA_REG_INT_MASK_SET	0x028
#define LABDMA_REG_INT_MASK_CLEAR 0x02c
#define LABDMA_REG_INT_TEST	0x030
#define LABDMA_REG_TIMESTAMP_LO	0x038
#define LABDMA_REG_TIMESTAMP_HI	0x03c

#define LABDMA_ID_VALUE		0x4c444d41	/* "LDMA" */
#define LABDMA_VERSION_MAJOR(v)	((v) >> 16)
#define LABDMA_KNOWN_MAJOR	1

/* CAP (datasheet 3.1) */
#define LABDMA_CAP_CHANNELS	GENMASK(3, 0)
#define LABDMA_CAP_OPS		GENMASK(15, 8)
#define LABDMA_CAP_MSIX		BIT(16)
#define LABDMA_CAP_FAULT	BIT(17)
#define LABDMA_CAP_RING_LOG2	GENMASK(23, 20)

/* CTRL, STATUS */
#define LABDMA_CTRL_ENABLE	BIT(0)
#define LABDMA_CTRL_RESET	BIT(1)
#define LABDMA_STATUS_ERROR	BIT(1)

/* INT_STATUS and the mask registers (datasheet 5.1) */
#define LABDMA_INT_CHAN(c)	BIT(c)
#define LABDMA_INT_CHANS	GENMASK(7, 0)
#define LABDMA_INT_ERROR	BIT(16)
#define LABDMA_INT_TEST_SHIFT	24
#define LABDMA_INT_TESTS	GENMASK(31, 24)

/* Channel registers (datasheet 4) */
#define LABDMA_CH_BASE(c)	(0x1000 + (c) * 0x100)
#define LABDMA_CH_RING_LO	0x00
#define LABDMA_CH_RING_HI	0x04
#define LABDMA_CH_RING_SIZE	0x08
#define LABDMA_CH_TAIL		0x0c
#define LABDMA_CH_HEAD		0x10
#define LABDMA_CH_CTRL		0x14
#define LABDMA_CH_STATUS	0x18
#define LABDMA_CH_ERR_INDEX	0x1c
#define LABDMA_CH_ERR_ADDR_LO	0x20
#define LABDMA_CH_ERR_ADDR_HI	0x24
#define LABDMA_CH_WB_LO		0x28
#define LABDMA_CH_WB_HI		0x2c
#define LABDMA_CH_BYTES_LO	0x30
#define LABDMA_CH_BYTES_HI	0x34
#define LABDMA_CH_DESCS_LO	0x38
#define LABDMA_CH_DESCS_HI	0x3c
#define LABDMA_CH_VECTOR	0x40
#define LABDMA_CH_LAST		LABDMA_CH_VECTOR

/* Channel CTRL */
#define LABDMA_CH_CTRL_RUN	BIT(0)
#define LABDMA_CH_CTRL_ABORT	BIT(1)
#define LABDMA_CH_CTRL_RESET	BIT(2)
#define LABDMA_CH_CTRL_IRQ_EN	BIT(3)
#define LABDMA_CH_CTRL_COAL_COUNT GENMASK(15, 8)
#define LABDMA_CH_CTRL_COAL_USECS GENMASK(31, 16)

/* Channel STATUS */
#define LABDMA_CH_STATE		GENMASK(1, 0)
#define LABDMA_CH_STATE_IDLE	0
#define LABDMA_CH_STATE_BUSY	1
#define LABDMA_CH_STATE_HALTED	2
#define LABDMA_CH_ERR_CODE	GENMASK(15, 8)

/* Error codes (datasheet 8) */
#define LABDMA_ERR_BAD_LEN	0x01
#define LABDMA_ERR_BAD_OP	0x02
#define LABDMA_ERR_BAD_ALIGN	0x03
#define LABDMA_ERR_DESC_READ	0x04
#define LABDMA_ERR_SRC_READ	0x05
#define LABDMA_ERR_DST_WRITE	0x06
#define LABDMA_ERR_WB_WRITE	0x07
#define LABDMA_ERR_RING_CONFIG	0x08
#define LABDMA_ERR_ABORTED	0x09
#define LABDMA_ERR_INJECTED	0x0a

/* Descriptor (datasheet 6.1) */
#define LABDMA_DESC_IRQ		BIT(0)
#define LABDMA_DESC_FENCE	BIT(1)
#define LABDMA_DESC_DONE	BIT(31)
#define LABDMA_DESC_CODE	GENMASK(7, 0)

struct labdma_desc {
	__le64 src;
	__le64 dst;
	__le32 len;
	__le16 op;
	__le16 flags;
	__le32 status;
	__le32 result;
};

static_assert(sizeof(struct labdma_desc) == 32);

#endif /* _LABDMA_REGS_H */
