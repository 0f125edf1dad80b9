// Double-precision FFTW (fftw_*); fftw_complex imports as (Double, Double).
#include <fftw3.h>
