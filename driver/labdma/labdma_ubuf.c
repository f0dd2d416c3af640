// SPDX-License-Identifier: GPL-2.0
/*
 * labdma user memory: the buffers of one operation pinned
 * (pin_user_pages_fast), described by an sg_table, mapped for the device
 * (dma_map_sgtable) and cut into pieces contiguous on both sides.
 *
 * A mapping lives exactly as long as its request: the door maps before
 * labdma_submit() and unmaps in done(), which the engine calls only once
 * the device can no longer touch the memory.
 */

#include <linux/dma-mapping.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "labdma_drv.h"

struct labdma_ubuf_side {
	struct page **pages;
	unsigned int npages;
	unsigned int pinned;
	bool write;
	bool mapped;
	enum dma_data_direction dir;
	struct sg_table sgt;
};

struct labdma_ubuf {
	struct labdma_dev *ld;
	struct labdma_ubuf_side side[2];	/* source, destination */
	unsigned int nsides;
	struct labdma_seg *segs;
	unsigned int nsegs;
};

static bool labdma_op_reads(u32 op)
{
	return op == LABDMA_OP_COPY || op == LABDMA_OP_MUL2 ||
	       op == LABDMA_OP_MUL4 || op == LABDMA_OP_CRC32C;
}

static bool labdma_op_writes(u32 op)
{
	return op == LABDMA_OP_COPY || op == LABDMA_OP_FILL ||
	       op == LABDMA_OP_MUL2 || op == LABDMA_OP_MUL4;
}

static int labdma_side_map(struct labdma_ubuf *ub, struct labdma_ubuf_side *s,
			   u64 uaddr, u64 len, bool write,
			   enum dma_data_direction dir)
{
	struct device *dev = ub->ld->dma_dev;
	unsigned int off = offset_in_page(uaddr);
	int ret;

	s->write = write;
	s->dir = dir;
	s->npages = DIV_ROUND_UP(off + len, PAGE_SIZE);
	s->pages = kvmalloc_array(s->npages, sizeof(*s->pages), GFP_KERNEL);
	if (!s->pages)
		return -ENOMEM;
	ret = pin_user_pages_fast(uaddr & PAGE_MASK, s->npages,
				  write ? FOLL_WRITE : 0, s->pages);
	if (ret < 0)
		return ret == -ENOMEM ? ret : -EFAULT;
	s->pinned = ret;
	if (s->pinned != s->npages)
		return -EFAULT;

	/* no element longer than a descriptor (dma_set_max_seg_size()) */
	ret = sg_alloc_table_from_pages_segment(&s->sgt, s->pages, s->npages,
						off, len,
						dma_get_max_seg_size(dev),
						GFP_KERNEL);
	if (ret)
		return ret;
	ret = dma_map_sgtable(dev, &s->sgt, dir, 0);
	if (ret) {
		sg_free_table(&s->sgt);
		dev_warn_ratelimited(&ub->ld->dev,
				     "cannot map %llu bytes of user memory for DMA: %d\n",
				     len, ret);
		return ret == -EINVAL ? -EIO : ret;
	}
	s->mapped = true;
	return 0;
}

static void labdma_side_unmap(struct labdma_ubuf *ub,
			      struct labdma_ubuf_side *s, bool written)
{
	if (s->mapped) {
		dma_unmap_sgtable(ub->ld->dma_dev, &s->sgt, s->dir, 0);
		sg_free_table(&s->sgt);
	}
	if (s->write)
		unpin_user_pages_dirty_lock(s->pages, s->pinned, written);
	else
		unpin_user_pages(s->pages, s->pinned);
	kvfree(s->pages);
}

/* Pieces contiguous in the device's address space on both sides. */
static int labdma_ubuf_cut(struct labdma_ubuf *ub, u32 op, u64 len)
{
	struct scatterlist *sg[2] = { NULL, NULL };
	u32 off[2] = { 0, 0 };
	unsigned int max = 0, i;
	int src_side = -1, dst_side = -1;

	for (i = 0; i < ub->nsides; i++) {
		sg[i] = ub->side[i].sgt.sgl;
		max += ub->side[i].sgt.nents;
	}
	/* side 0 is the source when the operation reads, else the destination */
	if (labdma_op_reads(op))
		src_side = 0;
	if (labdma_op_writes(op))
		dst_side = ub->nsides - 1;

	ub->segs = kvmalloc_array(max, sizeof(*ub->segs), GFP_KERNEL);
	if (!ub->segs)
		return -ENOMEM;
	while (len) {
		struct labdma_seg *seg = &ub->segs[ub->nsegs];
		u64 n = len;

		if (WARN_ON_ONCE(ub->nsegs == max))
			return -EIO;
		for (i = 0; i < ub->nsides; i++)
			n = min_t(u64, n, sg_dma_len(sg[i]) - off[i]);
		seg->src = src_side < 0 ? 0 :
			   sg_dma_address(sg[src_side]) + off[src_side];
		seg->dst = dst_side < 0 ? 0 :
			   sg_dma_address(sg[dst_side]) + off[dst_side];
		seg->len = n;
		ub->nsegs++;
		len -= n;
		for (i = 0; i < ub->nsides; i++) {
			off[i] += n;
			if (off[i] == sg_dma_len(sg[i]) && len) {
				sg[i] = sg_next(sg[i]);
				off[i] = 0;
			}
		}
	}
	return 0;
}

/*
 * Pin and map the buffers @op uses: @src (read), @dst (written); an
 * identical @src and @dst (in place) is one bidirectional mapping.  The
 * caller has checked @op, @len (> 0, at most a batch) and that the ranges
 * are identical or disjoint.  NULL, unmapped, kernel or (for @dst)
 * read-only memory: -EFAULT.
 */
struct labdma_ubuf *labdma_ubuf_map(struct labdma_dev *ld, u32 op, u64 src,
				    u64 dst, u64 len)
{
	bool reads = labdma_op_reads(op), writes = labdma_op_writes(op);
	struct labdma_ubuf *ub;
	int ret;

	if ((reads && (!src || src + len < src)) ||
	    (writes && (!dst || dst + len < dst)))
		return ERR_PTR(-EFAULT);
	ub = kzalloc(sizeof(*ub), GFP_KERNEL);
	if (!ub)
		return ERR_PTR(-ENOMEM);
	ub->ld = ld;

	if (reads && writes && src == dst) {
		ret = labdma_side_map(ub, &ub->side[ub->nsides++], src, len,
				      true, DMA_BIDIRECTIONAL);
	} else {
		ret = 0;
		if (reads)
			ret = labdma_side_map(ub, &ub->side[ub->nsides++], src,
					      len, false, DMA_TO_DEVICE);
		if (!ret && writes)
			ret = labdma_side_map(ub, &ub->side[ub->nsides++], dst,
					      len, true, DMA_FROM_DEVICE);
	}
	if (!ret)
		ret = labdma_ubuf_cut(ub, op, len);
	if (ret) {
		labdma_ubuf_unmap(ub, false);
		return ERR_PTR(ret);
	}
	return ub;
}

const struct labdma_seg *labdma_ubuf_segs(struct labdma_ubuf *ub,
					  unsigned int *nsegs)
{
	*nsegs = ub->nsegs;
	return ub->segs;
}

/* Unmap and unpin; @written marks the destination pages dirty. */
void labdma_ubuf_unmap(struct labdma_ubuf *ub, bool written)
{
	unsigned int i;

	for (i = 0; i < ub->nsides; i++)
		labdma_side_unmap(ub, &ub->side[i], written);
	kvfree(ub->segs);
	kfree(ub);
}
