/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the labdma driver: trace-cmd record -e labdma
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM labdma

#if !defined(_LABDMA_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _LABDMA_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

TRACE_EVENT(labdma_irq,
	    TP_PROTO(int index, unsigned int vector, u32 status),
	    TP_ARGS(index, vector, status),
	    TP_STRUCT__entry(__field(int, index)
			     __field(unsigned int, vector)
			     __field(u32, status)),
	    TP_fast_assign(__entry->index = index;
			   __entry->vector = vector;
			   __entry->status = status;),
	    TP_printk("labdma%d vector=%u status=0x%08x", __entry->index,
		      __entry->vector, __entry->status)
);

TRACE_EVENT(labdma_submit,
	    TP_PROTO(int index, unsigned int chan, u16 op, unsigned int nsegs,
		     unsigned int timeout_ms),
	    TP_ARGS(index, chan, op, nsegs, timeout_ms),
	    TP_STRUCT__entry(__field(int, index)
			     __field(unsigned int, chan)
			     __field(u16, op)
			     __field(unsigned int, nsegs)
			     __field(unsigned int, timeout_ms)),
	    TP_fast_assign(__entry->index = index;
			   __entry->chan = chan;
			   __entry->op = op;
			   __entry->nsegs = nsegs;
			   __entry->timeout_ms = timeout_ms;),
	    TP_printk("labdma%d ch=%u op=%u segs=%u timeout_ms=%u",
		      __entry->index, __entry->chan, __entry->op,
		      __entry->nsegs, __entry->timeout_ms)
);

TRACE_EVENT(labdma_doorbell,
	    TP_PROTO(int index, unsigned int chan, unsigned int tail,
		     unsigned int added),
	    TP_ARGS(index, chan, tail, added),
	    TP_STRUCT__entry(__field(int, index)
			     __field(unsigned int, chan)
			     __field(unsigned int, tail)
			     __field(unsigned int, added)),
	    TP_fast_assign(__entry->index = index;
			   __entry->chan = chan;
			   __entry->tail = tail;
			   __entry->added = added;),
	    TP_printk("labdma%d ch=%u tail=%u added=%u", __entry->index,
		      __entry->chan, __entry->tail, __entry->added)
);

TRACE_EVENT(labdma_complete,
	    TP_PROTO(int index, unsigned int chan, u16 op, u64 bytes,
		     int status, u8 hw_error),
	    TP_ARGS(index, chan, op, bytes, status, hw_error),
	    TP_STRUCT__entry(__field(int, index)
			     __field(unsigned int, chan)
			     __field(u16, op)
			     __field(u64, bytes)
			     __field(int, status)
			     __field(u8, hw_error)),
	    TP_fast_assign(__entry->index = index;
			   __entry->chan = chan;
			   __entry->op = op;
			   __entry->bytes = bytes;
			   __entry->status = status;
			   __entry->hw_error = hw_error;),
	    TP_printk("labdma%d ch=%u op=%u bytes=%llu status=%d hw_error=0x%02x",
		      __entry->index, __entry->chan, __entry->op,
		      __entry->bytes, __entry->status, __entry->hw_error)
);

TRACE_EVENT(labdma_chan_reset,
	    TP_PROTO(int index, unsigned int chan, u32 status),
	    TP_ARGS(index, chan, status),
	    TP_STRUCT__entry(__field(int, index)
			     __field(unsigned int, chan)
			     __field(u32, status)),
	    TP_fast_assign(__entry->index = index;
			   __entry->chan = chan;
			   __entry->status = status;),
	    TP_printk("labdma%d ch=%u status_before=0x%08x", __entry->index,
		      __entry->chan, __entry->status)
);

#endif /* _LABDMA_TRACE_H */

/* Out-of-tree: Kbuild adds -I$(src), so "." resolves to this directory. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE labdma_trace
#include <trace/define_trace.h>
