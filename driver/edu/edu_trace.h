/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Trace events of the edu driver: trace-cmd record -e edu
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM edu

#if !defined(_EDU_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _EDU_TRACE_H

#include <linux/tracepoint.h>
#include <linux/types.h>

TRACE_EVENT(edu_irq,
	    TP_PROTO(int index, u32 status),
	    TP_ARGS(index, status),
	    TP_STRUCT__entry(__field(int, index)
			     __field(u32, status)),
	    TP_fast_assign(__entry->index = index;
			   __entry->status = status;),
	    TP_printk("edu%d status=0x%08x", __entry->index, __entry->status)
);

TRACE_EVENT(edu_dma_submit,
	    TP_PROTO(int index, u64 src, u64 dst, u32 len, u32 cmd),
	    TP_ARGS(index, src, dst, len, cmd),
	    TP_STRUCT__entry(__field(int, index)
			     __field(u64, src)
			     __field(u64, dst)
			     __field(u32, len)
			     __field(u32, cmd)),
	    TP_fast_assign(__entry->index = index;
			   __entry->src = src;
			   __entry->dst = dst;
			   __entry->len = len;
			   __entry->cmd = cmd;),
	    TP_printk("edu%d src=0x%llx dst=0x%llx len=%u cmd=0x%x",
		      __entry->index, __entry->src, __entry->dst,
		      __entry->len, __entry->cmd)
);

TRACE_EVENT(edu_dma_complete,
	    TP_PROTO(int index, u32 len, int ret),
	    TP_ARGS(index, len, ret),
	    TP_STRUCT__entry(__field(int, index)
			     __field(u32, len)
			     __field(int, ret)),
	    TP_fast_assign(__entry->index = index;
			   __entry->len = len;
			   __entry->ret = ret;),
	    TP_printk("edu%d len=%u ret=%d", __entry->index, __entry->len,
		      __entry->ret)
);

TRACE_EVENT(edu_factorial,
	    TP_PROTO(int index, u32 input, u32 result, int ret),
	    TP_ARGS(index, input, result, ret),
	    TP_STRUCT__entry(__field(int, index)
			     __field(u32, input)
			     __field(u32, result)
			     __field(int, ret)),
	    TP_fast_assign(__entry->index = index;
			   __entry->input = input;
			   __entry->result = result;
			   __entry->ret = ret;),
	    TP_printk("edu%d input=%u result=%u ret=%d", __entry->index,
		      __entry->input, __entry->result, __entry->ret)
);

#endif /* _EDU_TRACE_H */

/* Out-of-tree: Kbuild adds -I$(src), so "." resolves to this directory. */
#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE edu_trace
#include <trace/define_trace.h>
