#include "trace/trace-hw_labdma.h"
