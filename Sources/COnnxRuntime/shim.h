#ifndef S2M3_CONNXRUNTIME_SHIM_H
#define S2M3_CONNXRUNTIME_SHIM_H
// ONNX Runtime's C API (version 21 headers; newer runtimes serve older API versions).
#include <onnxruntime_c_api.h>
#endif
