#ifndef S2M3_CIMAGECODECS_SHIM_H
#define S2M3_CIMAGECODECS_SHIM_H
// Image decoders without setjmp: libjpeg-turbo's TurboJPEG API and libpng's simplified API.
#include <turbojpeg.h>
#include <png.h>
#endif
